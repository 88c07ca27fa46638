import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Sandbox } from '../helpers/containers.js';

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
