import { RuntsError } from '../errors.js';
import { libc } from '../sys/libc.js';
import { readState, statusOf, type ContainerState } from './state.js';
import { withLock } from './lock.js';
import { containerPids } from './processes.js';
import { isPaused, thaw } from '../linux/cgroups/freezer.js';

const SIGKILL = 9;

/**
 * Sends `signal` to the init, or with `all` to every process of the container. A frozen
 * process dies of SIGKILL only once thawed (v1 freezer), so a paused container is thawed
 * after one.
 */
export function signalContainer(state: ContainerState, signal: number, all: boolean): void {
  const sys = libc();
  if (all) {
    for (const pid of containerPids(state)) sys.kill(pid, signal);
  } else if (sys.kill(state.pid, signal) < 0) {
    throw new RuntsError(`kill ${state.pid}`, { errno: sys.errno() });
  }
  if (signal === SIGKILL && state.cgroups && isPaused(state.cgroups)) thaw(state.cgroups);
}

/**
 * kill: only a created, running or paused container's init can be signalled. With `all`,
 * a stopped container is no error, as with runc: whatever is left in its cgroup gets the
 * signal, which is nothing once all have exited.
 */
export function killContainer(root: string, id: string, signal: number, all: boolean): void {
  withLock(root, id, () => {
    const state = readState(root, id);
    const status = statusOf(root, state);
    if (status === 'stopped' && all) {
      if (state.cgroups) for (const pid of containerPids(state)) libc().kill(pid, signal);
      return;
    }
    if (status !== 'created' && status !== 'running' && status !== 'paused') throw new RuntsError('container not running');
    signalContainer(state, signal, all);
  });
}
