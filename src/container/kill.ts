import { RuntsError } from '../errors.js';
import { libc } from '../sys/libc.js';
import { readState, statusOf, type ContainerState } from './state.js';
import { withLock } from './lock.js';
import { containerPids } from './processes.js';
import { freeze, freezerDir, isPaused, thaw } from '../linux/cgroups/freezer.js';
import * as log from '../log.js';

const SIGKILL = 9;

/**
 * Every process of the container gets the signal as at one instant, as runc does: the
 * cgroup is frozen while its pids are read and signalled, so that none forks a child the
 * list missed (in a pid namespace the container does not own, such a child outlives the
 * kill). A frozen process dies of SIGKILL only once thawed: a paused container stays
 * paused after other signals.
 */
function signalAll(state: ContainerState, signal: number): void {
  const sys = libc();
  const cgroups = state.cgroups;
  const paused = cgroups !== undefined && isPaused(cgroups);
  let frozen = false;
  if (cgroups && !paused && freezerDir(cgroups) !== undefined) {
    try {
      freeze(cgroups);
      frozen = true;
    } catch (err) {
      // as runc: the signal still goes out, only not at one instant
      log.warn(`kill --all: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  try {
    for (const pid of containerPids(state)) sys.kill(pid, signal);
  } finally {
    if (cgroups && (frozen || (paused && signal === SIGKILL))) thaw(cgroups);
  }
}

/** Sends `signal` to the init, or with `all` to every process of the container. */
export function signalContainer(state: ContainerState, signal: number, all: boolean): void {
  if (all) return signalAll(state, signal);
  const sys = libc();
  if (sys.kill(state.pid, signal) < 0) throw new RuntsError(`kill ${state.pid}`, { errno: sys.errno() });
  // a frozen process dies of SIGKILL only once thawed (v1 freezer)
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
      if (state.cgroups) signalAll(state, signal);
      return;
    }
    if (status !== 'created' && status !== 'running' && status !== 'paused') throw new RuntsError('container not running');
    signalContainer(state, signal, all);
  });
}
