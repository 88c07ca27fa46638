import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Spec } from '../spec/types/config.js';
import type { CgroupState } from '../linux/cgroups/apply.js';
import { RuntsError } from '../errors.js';
import { isAlive } from './proc.js';
import { isPaused } from '../linux/cgroups/freezer.js';
import { checkId } from './id.js';

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
}

export const FIFO = 'exec.fifo';

export function containerDir(root: string, id: string): string {
  return join(root, checkId(id));
}

export function ensureRoot(root: string): void {
  mkdirSync(root, { recursive: true, mode: 0o711 });
}

export function readState(root: string, id: string): ContainerState {
  const file = join(containerDir(root, id), 'state.json');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new RuntsError(`container does not exist: ${id}`);
  }
  return JSON.parse(text) as ContainerState;
}

/** Writes a file whole or not at all: a temp file, fsync, rename. */
export function writeAtomic(file: string, data: string, mode = 0o644): void {
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w', mode);
  try {
    writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
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
