import { closeSync, openSync, readSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { RuntsError } from '../errors.js';
import { libc } from '../sys/libc.js';
import { O_CLOEXEC, O_NONBLOCK, O_RDWR, POLLIN } from '../sys/constants.js';
import { FIFO, containerDir, hookState, readState, statusOf } from './state.js';
import { withLock } from './lock.js';
import { isAlive } from './proc.js';
import { runHooks } from '../linux/hooks.js';

/**
 * start: lets the waiting init go on to exec the user's process. Opening exec.fifo
 * unblocks the init's open; its one byte says it got past it. The fifo is opened
 * read-write so the open never blocks, and the wait polls so a dead init is noticed.
 */
export function startContainer(root: string, id: string): void {
  withLock(root, id, () => {
    const state = readState(root, id);
    const status = statusOf(root, state);
    if (status === 'stopped') throw new RuntsError('cannot start a container that has stopped');
    if (status !== 'created') throw new RuntsError(`cannot start an already ${status} container`);
    const fifo = join(containerDir(root, id), FIFO);
    const fd = openSync(fifo, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    try {
      const sys = libc();
      const pfd = Buffer.alloc(8);
      pfd.writeInt32LE(fd, 0);
      pfd.writeInt16LE(POLLIN, 4);
      for (;;) {
        const r = sys.poll(pfd, 1, 100);
        if (r > 0) break;
        if (r < 0 && sys.errno() !== 4) throw new RuntsError('poll exec.fifo', { errno: sys.errno() });
        if (!isAlive(state.pid, state.startTime)) throw new RuntsError('container init exited before start');
      }
      readSync(fd, Buffer.alloc(1), 0, 1, null);
    } finally {
      closeSync(fd);
    }
    unlinkSync(fifo);
    runHooks(state.config, 'poststart', { ...hookState(state), status: 'running' }, true);
  });
}
