import { existsSync, mkdirSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { RuntsError } from '../errors.js';
import { bindMounts, dumpArgs, mountPoint, runCriu, ttyKey, type CriuCommon } from '../linux/criu.js';
import { freezerDir } from '../linux/cgroups/freezer.js';
import { readState, statusOf, writeAtomic, type ContainerState } from './state.js';
import { withLock } from './lock.js';
import { destroyContainer } from './delete.js';

export interface CheckpointOptions extends CriuCommon {
  parentPath?: string;
  leaveRunning?: boolean;
  preDump?: boolean;
  statusFd?: number;
  pageServer?: { address: string; port: number };
}

/** The file in the images that records the init's stdio (runc's name and format). */
export const DESCRIPTORS = 'descriptors.json';

/** The file in the images that holds criu's key for the container's terminal. */
export const TTY_INFO = 'tty.info';

/** Where the container's terminal is bound. */
export const CONSOLE = '/dev/console';

/** A directory made if missing (runc makes the image directory 0700). */
export function ensureDir(dir: string, what: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw RuntsError.fromNode(`${what} ${dir}`, err);
  }
  if (!statSync(dir).isDirectory()) throw new RuntsError(`${what} ${dir}: not a directory`);
}

/**
 * The mount points whose files come from outside the container's rootfs: its bind mounts,
 * and the masked paths that are files (a bind of /dev/null). criu cannot dump what they
 * show, only that something is mounted there.
 */
function externalMounts(state: ContainerState): string[] {
  const binds = bindMounts(state.config).map((m) => mountPoint(m.destination));
  const maskedFiles = (state.config.linux?.maskedPaths ?? []).filter((p) => {
    try {
      return !statSync(`/proc/${state.pid}/root${mountPoint(p)}`).isDirectory();
    } catch {
      return false;
    }
  });
  return [...new Set([...binds, ...maskedFiles.map(mountPoint)])];
}

/** The inode of the network namespace the config has the container join, if it does. */
function joinedNetNs(state: ContainerState): number | undefined {
  if (!state.config.linux?.namespaces?.some((n) => n.type === 'network' && n.path)) return undefined;
  try {
    return statSync(`/proc/${state.pid}/ns/net`).ino;
  } catch (err) {
    throw RuntsError.fromNode(`network namespace of ${state.pid}`, err);
  }
}

/**
 * criu's key for the container's terminal: the pty bound on its /dev/console, whoever
 * in the container holds it.
 */
function terminalKey(state: ContainerState): string | undefined {
  if (!state.config.process?.terminal) return undefined;
  const console = `/proc/${state.pid}/root${CONSOLE}`;
  try {
    const st = statSync(console);
    return ttyKey(st.rdev, st.dev);
  } catch (err) {
    throw RuntsError.fromNode(`the container's terminal ${console}`, err, 'process.terminal');
  }
}

/** What the init's fds 0-2 are ("pipe:[123]", "/dev/null"): restore gives pipes new ends. */
function descriptors(pid: number): string[] {
  return [0, 1, 2].map((fd) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      return '';
    }
  });
}

/**
 * checkpoint: criu dumps the container's process tree into the images. Then, as with runc,
 * the container is gone (its processes were ended by criu; its cgroups and state are
 * removed) unless --leave-running or --pre-dump keep it running. A failed dump leaves the
 * container as it was: criu resumes the processes it froze.
 */
export function checkpointContainer(root: string, id: string, o: CheckpointOptions): void {
  withLock(root, id, () => {
    const state = readState(root, id);
    const status = statusOf(root, state);
    if (status !== 'running' && status !== 'paused') throw new RuntsError(`cannot checkpoint container ${id} that is ${status}`);
    if (o.parentPath !== undefined && !existsSync(join(o.imagePath, o.parentPath))) {
      throw new RuntsError(`--parent-path ${o.parentPath}: no such directory (relative to the image path ${o.imagePath})`);
    }
    ensureDir(o.imagePath, 'image path');
    ensureDir(o.workPath, 'work path');
    writeAtomic(join(o.imagePath, DESCRIPTORS), JSON.stringify(descriptors(state.pid)));
    const tty = terminalKey(state);
    if (tty !== undefined) writeAtomic(join(o.imagePath, TTY_INFO), tty);
    else rmSync(join(o.imagePath, TTY_INFO), { force: true });
    const args = dumpArgs({
      ...o,
      pid: state.pid,
      rootfs: state.rootfs,
      freezerCgroup: state.cgroups ? freezerDir(state.cgroups) : undefined,
      // the pty bound there stays outside too: restore binds the new one
      external: tty === undefined ? externalMounts(state) : [...externalMounts(state), CONSOLE],
      joinedNetNs: joinedNetNs(state),
      tty,
    });
    const logName = o.preDump ? 'pre-dump.log' : 'dump.log';
    runCriu(o.preDump ? 'checkpoint (pre-dump)' : 'checkpoint', args, join(o.workPath, logName), o.statusFd === undefined ? [] : [o.statusFd]);
    if (!o.leaveRunning && !o.preDump) destroyContainer(root, state);
  });
}
