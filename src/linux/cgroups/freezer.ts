import { existsSync } from 'node:fs';
import { posix } from 'node:path';
import { RuntsError } from '../../errors.js';
import type { CgroupState } from './apply.js';
import { readText, sleep, writeFile } from './files.js';

/**
 * pause and resume: the freezer of the container's cgroup. A v1 freezer hierarchy when the
 * host has one (freezer.state), else the cgroup2 directory's cgroup.freeze. Reading it is
 * how `state` tells a paused container from a running one, so this module only does file
 * I/O and loads no koffi.
 */

interface Freezer {
  v1: boolean;
  dir: string;
}

function freezerOf(state: CgroupState): Freezer | undefined {
  const v1 = state.paths.find((p) => existsSync(posix.join(p, 'freezer.state')));
  if (v1) return { v1: true, dir: v1 };
  const v2 = state.paths.find((p) => existsSync(posix.join(p, 'cgroup.freeze')));
  return v2 ? { v1: false, dir: v2 } : undefined;
}

function write(path: string, value: string): void {
  try {
    writeFile(path, value);
  } catch (err) {
    throw RuntsError.fromNode(`write ${value} to ${path}`, err);
  }
}

function frozen(f: Freezer): boolean {
  return f.v1
    ? readText(posix.join(f.dir, 'freezer.state')).trim() === 'FROZEN'
    : /^frozen 1$/m.test(readText(posix.join(f.dir, 'cgroup.events')));
}

/** Whether the container's cgroup is frozen (asked to be, on cgroup2: it may still be settling). */
export function isPaused(state: CgroupState): boolean {
  const f = freezerOf(state);
  if (!f) return false;
  return f.v1 ? readText(posix.join(f.dir, 'freezer.state')).trim() === 'FROZEN' : readText(posix.join(f.dir, 'cgroup.freeze')).trim() === '1';
}

const FREEZE_TIMEOUT_MS = 10_000;

/**
 * Freezes every process of the container and returns once they all are. A v1 freezer can
 * stay FREEZING while a task is busy in the kernel; like runc, the request is repeated,
 * and on timeout the cgroup is thawed again rather than left half frozen.
 */
export function freeze(state: CgroupState): void {
  const f = freezerOf(state);
  if (!f) throw new RuntsError('the container\'s cgroups have no freezer');
  const deadline = Date.now() + FREEZE_TIMEOUT_MS;
  for (let wait = 1; ; wait = Math.min(wait * 2, 50)) {
    write(posix.join(f.dir, f.v1 ? 'freezer.state' : 'cgroup.freeze'), f.v1 ? 'FROZEN' : '1');
    if (frozen(f)) return;
    if (Date.now() > deadline) {
      thaw(state);
      throw new RuntsError(`the processes of ${f.dir} did not freeze within ${FREEZE_TIMEOUT_MS / 1000} s`);
    }
    sleep(wait);
  }
}

export function thaw(state: CgroupState): void {
  const f = freezerOf(state);
  if (!f) throw new RuntsError('the container\'s cgroups have no freezer');
  write(posix.join(f.dir, f.v1 ? 'freezer.state' : 'cgroup.freeze'), f.v1 ? 'THAWED' : '0');
}
