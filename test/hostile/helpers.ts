import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RUNTS, type Sandbox } from '../helpers/containers.js';

/** The environment runts runs with: no CA bundle to parse, no test-runner loaders. */
export const ENV = { ...process.env };
delete ENV.NODE_EXTRA_CA_CERTS;
delete ENV.NODE_OPTIONS;

let outputs = 0;

/**
 * runts with a time bound that holds: SIGKILL at the end, since a Node process stuck in
 * a system call may not die of SIGTERM. Output goes to files, so a container that stays
 * cannot keep spawnSync waiting on a pipe.
 */
export function runtsBounded(
  root: string, dir: string, args: string[], timeout = 20_000, env: Record<string, string> = {},
): { status: number | null; signal: string | null; stdout: string; stderr: string } {
  const out = join(dir, `hostile-out${outputs}`);
  const err = join(dir, `hostile-err${outputs++}`);
  const fds = [openSync(out, 'w'), openSync(err, 'w')];
  try {
    const r = spawnSync(RUNTS, ['--root', root, ...args], { env: { ...ENV, ...env }, stdio: ['ignore', fds[0], fds[1]], timeout, killSignal: 'SIGKILL' });
    return { status: r.status, signal: r.signal, stdout: readFileSync(out, 'utf8'), stderr: readFileSync(err, 'utf8') };
  } finally {
    fds.forEach((fd) => closeSync(fd));
  }
}

/**
 * What a failed or finished runts command may not leave behind, as observed on the
 * host: state directories, cgroups named for the sandbox, mounts on the sandbox's
 * paths, processes started for the sandbox.
 */

const CGROUP_ROOT = '/sys/fs/cgroup';

/** Cgroup directories of this test process's sandboxes (Sandbox.bundle names them). */
function cgroupDirs(): string[] {
  const prefix = `runts-test-${process.pid}-`;
  const hierarchies = readdirSync(CGROUP_ROOT).map((h) => join(CGROUP_ROOT, h));
  const found: string[] = [];
  for (const h of [CGROUP_ROOT, ...hierarchies]) {
    try {
      for (const e of readdirSync(h)) if (e.startsWith(prefix)) found.push(join(h, e));
    } catch {
      // not a directory (a cgroup2 root's files), or not readable
    }
  }
  return found;
}

/** Mount points of this process's mount table on any of `paths`. */
function mountsOn(paths: string[]): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((m) => m !== undefined && paths.some((p) => m.startsWith(p)));
}

/** Processes whose command line names one of `paths` (runts' --root, a bundle). */
function processesOn(paths: string[]): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
    } catch {
      continue;
    }
    if (paths.some((p) => cmdline.includes(p))) found.push(`${pid}: ${cmdline}`);
  }
  return found;
}

export interface Leftovers {
  stateDirs: string[];
  cgroups: string[];
  mounts: string[];
  processes: string[];
}

export function leftovers(sandbox: Sandbox, rootfs: string): Leftovers {
  return {
    stateDirs: existsSync(sandbox.root) ? readdirSync(sandbox.root) : [],
    cgroups: cgroupDirs(),
    mounts: mountsOn([sandbox.dir, rootfs]),
    processes: processesOn([sandbox.dir]),
  };
}

/** Lines of runts' output that show a crash rather than an answer. */
export const CRASH = /std::|^\s+at |Maximum call stack|RangeError|TypeError|ReferenceError|SyntaxError|Segmentation|Aborted|\bnode:internal/m;
