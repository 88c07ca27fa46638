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

/** A freezer file, and what is written to it to freeze and to thaw. */
interface Freezer {
  dir: string;
  file: 'freezer.state' | 'cgroup.freeze';
  frozen: string;
  thawed: string;
}

const V1: Omit<Freezer, 'dir'> = { file: 'freezer.state', frozen: 'FROZEN', thawed: 'THAWED' };
const V2: Omit<Freezer, 'dir'> = { file: 'cgroup.freeze', frozen: '1', thawed: '0' };

function freezerOf(state: CgroupState): Freezer | undefined {
  for (const kind of [V1, V2]) {
    const dir = state.paths.find((p) => existsSync(posix.join(p, kind.file)));
    if (dir) return { ...kind, dir };
  }
  return undefined;
}

/** The cgroup whose freezer holds the container (criu dump freezes the tree through it). */
export function freezerDir(state: CgroupState): string | undefined {
  return freezerOf(state)?.dir;
}

function freezerFor(state: CgroupState): Freezer {
  const f = freezerOf(state);
  if (!f) throw new RuntsError('the container\'s cgroups have no freezer');
  return f;
}

function set(f: Freezer, value: string): void {
  const path = posix.join(f.dir, f.file);
  try {
    writeFile(path, value);
  } catch (err) {
    throw RuntsError.fromNode(`write ${value} to ${path}`, err);
  }
}

/** Whether freezing was asked for; on v1 the state reads FROZEN only once it is done. */
function requested(f: Freezer): boolean {
  return readText(posix.join(f.dir, f.file)).trim() === f.frozen;
}

/** Whether every process is frozen: cgroup2 says so in cgroup.events. */
function settled(f: Freezer): boolean {
  return f.file === V1.file ? requested(f) : /^frozen 1$/m.test(readText(posix.join(f.dir, 'cgroup.events')));
}

/**
 * The first of `dirs` (existing cgroups a new container would join) whose processes are
 * frozen or freezing, by itself or through a parent: a container's init cloned into it
 * would stop there, and create wait for it forever.
 */
export function frozenCgroup(dirs: string[]): string | undefined {
  return dirs.find((dir) => {
    const v1 = readText(posix.join(dir, V1.file)).trim();
    if (v1 !== '' && v1 !== V1.thawed) return true;
    return readText(posix.join(dir, V2.file)).trim() === V2.frozen || /^frozen 1$/m.test(readText(posix.join(dir, 'cgroup.events')));
  });
}

/** Whether the container's cgroup is frozen (asked to be, on cgroup2: it may still be settling). */
export function isPaused(state: CgroupState): boolean {
  const f = freezerOf(state);
  return f !== undefined && requested(f);
}

const FREEZE_TIMEOUT_MS = 10_000;

/**
 * Freezes every process of the container and returns once they all are. A v1 freezer can
 * stay FREEZING while a task is busy in the kernel; like runc, the request is repeated,
 * and on timeout the cgroup is thawed again rather than left half frozen.
 */
export function freeze(state: CgroupState): void {
  const f = freezerFor(state);
  const deadline = Date.now() + FREEZE_TIMEOUT_MS;
  for (let wait = 1; ; wait = Math.min(wait * 2, 50)) {
    set(f, f.frozen);
    if (settled(f)) return;
    if (Date.now() > deadline) {
      thaw(state);
      throw new RuntsError(`the processes of ${f.dir} did not freeze within ${FREEZE_TIMEOUT_MS / 1000} s`);
    }
    sleep(wait);
  }
}

export function thaw(state: CgroupState): void {
  const f = freezerFor(state);
  set(f, f.thawed);
}
