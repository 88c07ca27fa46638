import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { RuntsError } from '../errors.js';
import { containerDir, hookState, readCreating, readState, stateReadable, statusOf, type ContainerState } from './state.js';
import { withLock } from './lock.js';
import { isAlive } from './proc.js';
import { signalContainer } from './kill.js';
import { removeCgroups } from '../linux/cgroups/apply.js';
import { removeIntelRdt } from '../linux/intelrdt.js';
import { runHooks } from '../linux/hooks.js';
import { unbindRestoreRoot } from './restore-root.js';

const SIGKILL = 9;

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Waits for the init to be gone; with its pid namespace gone, all its processes are. */
function awaitExit(state: ContainerState, timeoutMs: number): boolean {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(state.pid, state.startTime)) {
    if (Date.now() > deadline) return false;
    sleep(5);
  }
  return true;
}

/**
 * Undoes what create made (runtime.md lifecycle step 12) and runs the poststop hooks
 * (step 13): the end of every container, deleted or failed at start. The caller holds the
 * container's lock.
 */
export function destroyContainer(root: string, state: ContainerState): void {
  if (isAlive(state.pid, state.startTime)) {
    signalContainer(state, SIGKILL, true);
    if (!awaitExit(state, 10_000)) throw new RuntsError(`container ${state.id} did not exit after SIGKILL`);
  }
  if (state.cgroups) removeCgroups(state.cgroups);
  if (state.intelRdt) removeIntelRdt(state.intelRdt.remove);
  rmSync(containerDir(root, state.id), { recursive: true, force: true });
  runHooks(state.config, 'poststop', { ...hookState(state), status: 'stopped' }, true);
}

/**
 * delete: removes a stopped container and all create made; --force kills it first. As with
 * runc, --force of a container that does not exist succeeds: engines delete whatever may
 * be left after a failure, and expect no error when nothing is.
 */
export function deleteContainer(root: string, id: string, force: boolean): void {
  const dir = containerDir(root, id);
  if (force && !existsSync(dir)) return;
  withLock(root, id, () => {
    if (!existsSync(join(dir, 'state.json')) || (force && !stateReadable(root, id))) {
      // A create that died before writing its state, or a state file that cannot be read:
      // the creating record names the cgroups, and so the processes, it may have made.
      const creating = readCreating(root, id);
      if (creating?.cgroups) removeCgroups(creating.cgroups);
      if (creating?.intelRdt) removeIntelRdt(creating.intelRdt);
      // A restore that died may have left the rootfs bound inside: unbound first, so
      // that removing the directory does not reach into the rootfs.
      unbindRestoreRoot(dir);
      rmSync(dir, { recursive: true, force: true });
      return;
    }
    const state = readState(root, id);
    const status = statusOf(root, state);
    if (status !== 'stopped' && !force) throw new RuntsError(`cannot delete container ${id} that is not stopped: ${status}`);
    destroyContainer(root, state);
  });
}
