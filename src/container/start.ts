import { closeSync, openSync, readSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { RuntsError } from '../errors.js';
import { libc } from '../sys/libc.js';
import { O_CLOEXEC, O_NONBLOCK, O_RDWR, POLLIN } from '../sys/constants.js';
import { FIFO, containerDir, hookState, readState, statusOf } from './state.js';
import { withLock } from './lock.js';
import { isAlive } from './proc.js';
import { START_HOOK_RECORD_BYTES, hookAllowanceMs, hookError, hookProblem, parseStartHookRecord, readHookStderr, runHooks } from '../linux/hooks.js';
import { destroyContainer } from './delete.js';
import { seconds, setupTimeoutMs } from '../sys/wait.js';

/**
 * start: lets the waiting init go on to exec the user's process. Opening exec.fifo
 * unblocks the init's open; the init runs the startContainer hooks, then its one byte
 * says it goes on to execve (or a record says which hook failed). The fifo is opened read-write so the open never blocks, and
 * the wait polls so a dead init is noticed, up to the setup bound. A failure here destroys the container and runs
 * the poststop hooks (runtime.md lifecycle steps 7 and 9).
 */
export function startContainer(root: string, id: string): void {
  withLock(root, id, () => {
    const state = readState(root, id);
    const status = statusOf(root, state);
    if (status === 'stopped') throw new RuntsError('cannot start a container that has stopped');
    if (status !== 'created') throw new RuntsError(`cannot start an already ${status} container`);
    const dir = containerDir(root, id);
    const fifo = join(dir, FIFO);
    const fd = openSync(fifo, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    try {
      const sys = libc();
      const pfd = Buffer.alloc(8);
      pfd.writeInt32LE(fd, 0);
      pfd.writeInt16LE(POLLIN, 4);
      // The init answers once its startContainer hooks have run, each within its timeout.
      const allowed = setupTimeoutMs() + hookAllowanceMs(state.config, 'startContainer');
      const deadline = Date.now() + allowed;
      for (;;) {
        const r = sys.poll(pfd, 1, 100);
        if (r > 0) break;
        if (r < 0 && sys.errno() !== 4) throw new RuntsError('poll exec.fifo', { errno: sys.errno() });
        if (!isAlive(state.pid, state.startTime)) {
          destroyContainer(root, state);
          throw new RuntsError('the container init exited during start: it was killed');
        }
        if (Date.now() > deadline) {
          destroyContainer(root, state);
          throw new RuntsError(`start: the container init did not acknowledge start within ${seconds(allowed)}`);
        }
      }
      // The acknowledging byte, or the record of a failed startContainer hook.
      const buf = Buffer.alloc(START_HOOK_RECORD_BYTES);
      const failed = parseStartHookRecord(buf, readSync(fd, buf, 0, buf.length, null));
      if (failed) {
        const err = hookError(state.config, 'startContainer', failed.index, hookProblem(state.config, 'startContainer', failed.index, failed.status), readHookStderr(dir));
        destroyContainer(root, state);
        throw err;
      }
    } finally {
      closeSync(fd);
    }
    unlinkSync(fifo);
    try {
      runHooks(state.config, 'poststart', { ...hookState(state), status: 'running' });
    } catch (err) {
      destroyContainer(root, state);
      throw err;
    }
  });
}
