import { closeSync, openSync } from 'node:fs';
import { libc } from '../sys/libc.js';
import { LOCK_EX, O_CLOEXEC, O_DIRECTORY, O_RDONLY } from '../sys/constants.js';
import { RuntsError } from '../errors.js';
import { containerDir } from './state.js';

/**
 * Holds an exclusive flock on the container's directory while `fn` runs (until its promise
 * settles, for an async `fn`), so that two commands on one container never interleave. A
 * command that waited for a delete finds the directory gone and says the container does
 * not exist.
 */
export function withLock<T>(root: string, id: string, fn: () => T): T {
  const dir = containerDir(root, id);
  let fd: number;
  try {
    fd = openSync(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  } catch {
    throw new RuntsError(`container does not exist: ${id}`);
  }
  let result: T;
  try {
    const sys = libc();
    while (sys.flock(fd, LOCK_EX) < 0) {
      if (sys.errno() !== 4) throw new RuntsError(`lock container ${id}`, { errno: sys.errno() });
    }
    result = fn();
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  if (result instanceof Promise) return result.finally(() => closeSync(fd)) as T;
  closeSync(fd);
  return result;
}
