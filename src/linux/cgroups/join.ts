import { posix } from 'node:path';
import type { Spec } from '../../spec/types/config.js';
import type { Emitter } from '../../program/emit.js';
import { AT_FDCWD, O_CLOEXEC, O_WRONLY } from '../../sys/constants.js';

/** The cgroup.procs files of cgroup directories, which the intermediate process writes itself into. */
export function cgroupProcsFiles(dirs: readonly string[]): string[] {
  return dirs.map((d) => posix.join(d, 'cgroup.procs'));
}

/**
 * The intermediate process moves itself ("0") into each of the container's cgroups, so
 * the init it clones is born inside them and a new cgroup namespace is rooted there. This
 * must come before any user namespace (whose root has no rights over the host's cgroup
 * files) and any joined mount namespace (where these paths mean something else), and
 * before the initial CPU affinity, which joining a cpuset would reset.
 */
export function emitJoinCgroups(e: Emitter, spec: Spec, procsFiles: string[]): void {
  const configPath = spec.linux?.cgroupsPath === undefined ? undefined : 'linux.cgroupsPath';
  for (const file of procsFiles) {
    const step = { what: `join cgroup ${posix.dirname(file)}`, configPath };
    e.p.sys('openat', [AT_FDCWD, e.str(file), O_WRONLY | O_CLOEXEC], step, { save: e.tmp });
    e.p.sys('write', [e.tmp, e.str('0'), 1], step);
    e.p.sys('close', [e.tmp], step);
  }
}
