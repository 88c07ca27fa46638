import { posix } from 'node:path';
import type { Spec } from '../../spec/types/config.js';
import type { Emitter } from '../../program/emit.js';
import type { Step } from '../../program/program.js';
import { AT_FDCWD, O_CLOEXEC, O_WRONLY } from '../../sys/constants.js';
import { readText } from './files.js';
import { EACCES, EPERM, EROFS } from '../../sys/errno.js';
import { readCgroupHost } from './host.js';

/** The cgroup.procs files of cgroup directories, which the intermediate process writes itself into. */
export function cgroupProcsFiles(dirs: readonly string[]): string[] {
  return dirs.map((d) => posix.join(d, 'cgroup.procs'));
}

/**
 * The cgroups a process exec'd into a running container joins: the container's, except
 * a cgroup2 one in which the container enabled controllers for cgroups of its own (a
 * nested runtime, systemd): no process may join it then (EBUSY), and the process joins
 * the init's cgroup below it instead, as with runc.
 */
export function execCgroupDirs(dirs: readonly string[], initPid: number): string[] {
  return dirs.map((dir) => {
    if (readText(posix.join(dir, 'cgroup.subtree_control')).trim() === '') return dir;
    const v2 = readCgroupHost().hierarchies.find((h) => h.version === 2);
    const line = readText(`/proc/${initPid}/cgroup`).split('\n').find((l) => l.startsWith('0::'));
    if (!v2 || !line) return dir;
    const initDir = posix.join(v2.mountPoint, posix.relative(v2.mountRoot, line.slice(3)));
    return initDir.startsWith(`${dir}/`) ? initDir : dir;
  });
}

/**
 * The intermediate process moves itself ("0") into each of the container's cgroups, so
 * the init it clones is born inside them and a new cgroup namespace is rooted there. This
 * must come before any user namespace (whose root has no rights over the host's cgroup
 * files) and any joined mount namespace (where these paths mean something else), and
 * before the initial CPU affinity, which joining a cpuset would reset.
 *
 * `rootless` (an exec of a rootless runtime): a cgroup the caller may not move a process
 * into (the kernel wants write access to cgroup.procs of the common ancestor of where the
 * process is and where it goes) is not joined, as runc's rootless exec does.
 */
export function emitJoinCgroups(e: Emitter, spec: Spec, procsFiles: string[], rootless = false): void {
  const configPath = spec.linux?.cgroupsPath === undefined ? undefined : 'linux.cgroupsPath';
  const tolerate = rootless ? [EACCES, EPERM, EROFS] : [];
  for (const file of procsFiles) emitJoinSelf(e, file, { what: `join cgroup ${posix.dirname(file)}`, configPath }, tolerate);
}

/**
 * The process moves itself into a group by writing "0" (the writer) to its procs or tasks
 * file: cgroups, and resctrl groups alike. With `tolerate`, a file it may not open is
 * skipped.
 */
export function emitJoinSelf(e: Emitter, file: string, step: Step, tolerate: number[] = []): void {
  const next = e.p.label(`joined ${file}`);
  e.p.sys('openat', [AT_FDCWD, e.str(file), O_WRONLY | O_CLOEXEC], step, { save: e.tmp, tolerate });
  if (tolerate.length > 0) e.p.jumpIfNegative(e.tmp, next);
  e.p.sys('write', [e.tmp, e.str('0'), 1], step, { tolerate });
  e.p.sys('close', [e.tmp], step);
  e.p.place(next);
}
