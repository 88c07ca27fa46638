import { chmodSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import type { Spec } from '../spec/types/config.js';
import type { CgroupState } from '../linux/cgroups/apply.js';
import type { RdtState } from '../linux/intelrdt.js';
import { RuntsError } from '../errors.js';
import { isAlive } from './proc.js';
import { isPaused } from '../linux/cgroups/freezer.js';
import { checkId } from './id.js';
import { isXdgRoot } from './rootless.js';
import { MiB, readInputFile } from '../sys/input-file.js';
import { parseJsonInput } from '../spec/validate.js';

/**
 * A container's state on disk: <root>/<id>/state.json, written atomically, plus
 * exec.fifo while the container is `created`.
 */

export type Status = 'creating' | 'created' | 'running' | 'paused' | 'stopped';

export interface ContainerState {
  ociVersion: string;
  id: string;
  pid: number;
  /** /proc/<pid>/stat start time: tells a reused pid from the container's init. */
  startTime: string;
  bundle: string;
  rootfs: string;
  created: string;
  owner: string;
  annotations?: Record<string, string>;
  /** The config as it was at create: editing config.json afterwards changes nothing. */
  config: Spec;
  /** The container's cgroups and which of their directories create made. */
  cgroups?: CgroupState;
  /** linux.intelRdt: the resctrl tasks files the container's processes join, and the groups delete removes. */
  intelRdt?: RdtState;
  /** create's --no-new-keyring: the container shares its creator's session keyring, and so do its exec'd processes. */
  noNewKeyring?: boolean;
}

export const FIFO = 'exec.fifo';

export function containerDir(root: string, id: string): string {
  return join(root, checkId(id));
}

/** state.json holds the config (at most 16 MiB as config.json) and a little more. */
const STATE_LIMIT = 32 * MiB;

export function ensureRoot(root: string): void {
  try {
    if (isXdgRoot(root)) {
      // as runc does: the XDG base directory spec asks for sticky files in the runtime dir
      mkdirSync(root, { recursive: true, mode: 0o700 });
      chmodSync(root, 0o1700);
    } else {
      mkdirSync(root, { recursive: true, mode: 0o711 });
    }
  } catch (err) {
    throw RuntsError.fromNode(`create state root ${root}`, err);
  }
}

/**
 * Makes the container's state directory (under the root, made if need be); an id in use
 * is an error: mkdir decides between two commands racing for one id.
 */
export function makeContainerDir(root: string, id: string): string {
  ensureRoot(root);
  const dir = containerDir(root, id);
  try {
    mkdirSync(dir, { mode: 0o711 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new RuntsError(`container with id exists: ${id}`);
    throw RuntsError.fromNode(`create state directory ${dir}`, err);
  }
  return dir;
}

/** The state of a container whose init now runs as `pid`, created now by this user. */
export function newState(
  spec: Spec, id: string, pid: number, startTime: string, paths: { bundle: string; rootfs: string }, cgroups: CgroupState | undefined,
): ContainerState {
  return {
    ociVersion: spec.ociVersion,
    id,
    pid,
    startTime,
    bundle: paths.bundle,
    rootfs: paths.rootfs,
    created: new Date().toISOString(),
    owner: userInfo().username,
    annotations: spec.annotations as Record<string, string> | undefined,
    config: spec,
    cgroups,
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** An RdtState as create writes it: absolute paths only. */
function isRdtState(v: unknown): v is RdtState {
  const paths = (p: unknown) => Array.isArray(p) && p.every((x) => typeof x === 'string' && x.startsWith('/'));
  return isObject(v) && typeof v.mount === 'string' && v.mount.startsWith('/') && paths(v.tasks) && paths(v.remove);
}

/** What is wrong with a parsed state.json, in the fields the commands rely on. */
function stateProblem(doc: unknown, id: string): string | undefined {
  if (!isObject(doc)) return 'expected an object';
  if (doc.id !== id) return `id is ${JSON.stringify(doc.id)}, not ${JSON.stringify(id)}`;
  if (!Number.isSafeInteger(doc.pid) || (doc.pid as number) <= 0) return `pid ${JSON.stringify(doc.pid)} is not a process id`;
  for (const key of ['ociVersion', 'startTime', 'bundle', 'rootfs', 'created', 'owner']) {
    if (typeof doc[key] !== 'string') return `${key} is not a string`;
  }
  if (!isObject(doc.config)) return 'config is not an object';
  const cg = doc.cgroups;
  if (cg !== undefined) {
    const strings = (v: unknown) => Array.isArray(v) && v.every((p) => typeof p === 'string');
    if (!isObject(cg) || !strings(cg.paths) || !strings(cg.created)) return 'cgroups is not a list of paths';
    const sd = cg.systemd;
    if (sd !== undefined && (!isObject(sd) || !['slice', 'unit', 'path'].every((k) => typeof sd[k] === 'string')
      || (sd.manager !== 'system' && sd.manager !== 'user'))) {
      return 'cgroups.systemd is not a systemd unit';
    }
  }
  if (doc.intelRdt !== undefined && !isRdtState(doc.intelRdt)) return 'intelRdt is not a list of resctrl paths';
  return undefined;
}

/**
 * A container's state.json. A file that is not the runtime's own (garbage, truncated,
 * `{}`) is an error naming the file, not a container with made-up fields.
 */
export function readState(root: string, id: string): ContainerState {
  const file = join(containerDir(root, id), 'state.json');
  if (!existsSync(file)) throw new RuntsError(`container does not exist: ${id}`);
  const text = readInputFile(file, STATE_LIMIT);
  const doc = parseJsonInput(text, `${file}: corrupt state`);
  const problem = stateProblem(doc, id);
  if (problem) throw new RuntsError(`${file}: corrupt state: ${problem}`);
  return doc as ContainerState;
}

/**
 * The record create writes before it makes any cgroup or process: what a create that died
 * on the way may have left, for delete --force to remove.
 */
export interface CreatingRecord {
  cgroups?: CgroupState;
  /** The resctrl groups create made (all of them: a failed create removes a named group it made too). */
  intelRdt?: string[];
}

export const CREATING = 'creating.json';

export function writeCreating(root: string, id: string, record: CreatingRecord): void {
  writeAtomic(join(containerDir(root, id), CREATING), JSON.stringify(record));
}

/** The creating record, or nothing when there is none or it cannot be read. */
export function readCreating(root: string, id: string): CreatingRecord | undefined {
  try {
    const doc = parseJsonInput(readInputFile(join(containerDir(root, id), CREATING), STATE_LIMIT), CREATING) as CreatingRecord;
    const c = doc?.cgroups;
    const strings = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === 'string' && x.startsWith('/sys/fs/cgroup/'));
    const rdt = doc?.intelRdt;
    const rdtOk = rdt === undefined || (Array.isArray(rdt) && rdt.every((x) => typeof x === 'string' && x.startsWith('/')));
    return rdtOk && (c === undefined || (strings(c.paths) && strings(c.created))) ? doc : undefined;
  } catch {
    return undefined;
  }
}

/** Whether state.json can be read as the runtime wrote it (delete --force removes one that cannot). */
export function stateReadable(root: string, id: string): boolean {
  try {
    readState(root, id);
    return true;
  } catch {
    return false;
  }
}

/** Writes a file whole or not at all: a temp file, fsync, rename; the temp file never stays. */
export function writeAtomic(file: string, data: string, mode = 0o644): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    const fd = openSync(tmp, 'w', mode);
    try {
      writeSync(fd, data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      // never made, or not a file of ours
    }
    throw RuntsError.fromNode(`write ${file}`, err);
  }
}

export function writeState(root: string, state: ContainerState): void {
  writeAtomic(join(containerDir(root, state.id), 'state.json'), JSON.stringify(state));
}

/** The status, derived from the real process every time rather than stored. */
export function statusOf(root: string, state: ContainerState): Status {
  if (!isAlive(state.pid, state.startTime)) return 'stopped';
  if (state.cgroups && isPaused(state.cgroups)) return 'paused';
  return existsSync(join(containerDir(root, state.id), FIFO)) ? 'created' : 'running';
}

/** The state as hooks get it on stdin (runtime.md "State"). */
export function hookState(state: ContainerState) {
  return {
    ociVersion: state.ociVersion,
    id: state.id,
    pid: state.pid,
    bundle: state.bundle,
    ...(state.annotations ? { annotations: state.annotations } : {}),
  };
}

/** The state document of runtime.md, with the extra fields runc shows. */
export function publicState(root: string, state: ContainerState) {
  const status = statusOf(root, state);
  return {
    ociVersion: state.ociVersion,
    id: state.id,
    pid: status === 'stopped' ? 0 : state.pid,
    status,
    bundle: state.bundle,
    rootfs: state.rootfs,
    created: state.created,
    owner: state.owner,
    ...(state.annotations ? { annotations: state.annotations } : {}),
  };
}
