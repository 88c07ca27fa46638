import { RuntsError } from '../errors.js';
import { libc } from '../sys/libc.js';
import { readState, statusOf, type ContainerState } from './state.js';
import { withLock } from './lock.js';
import { containerPids } from './processes.js';
import { thaw } from '../linux/cgroups/freezer.js';

const SIGKILL = 9;

export function signalAll(state: ContainerState, signal: number): void {
  const sys = libc();
  for (const pid of containerPids(state)) sys.kill(pid, signal);
}

/** kill: only a created or running container can be signalled. */
export function killContainer(root: string, id: string, signal: number, all: boolean): void {
  withLock(root, id, () => {
    const state = readState(root, id);
    const status = statusOf(root, state);
    if (status !== 'created' && status !== 'running' && status !== 'paused') throw new RuntsError('container not running');
    if (all) {
      signalAll(state, signal);
    } else {
      const sys = libc();
      if (sys.kill(state.pid, signal) < 0) throw new RuntsError(`kill ${state.pid}`, { errno: sys.errno() });
    }
    // A frozen process dies of SIGKILL only once thawed (v1 freezer).
    if (status === 'paused' && signal === SIGKILL) thaw(state.cgroups!);
  });
}
