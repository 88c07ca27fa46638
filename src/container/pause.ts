import { RuntsError } from '../errors.js';
import { readState, statusOf } from './state.js';
import { withLock } from './lock.js';
import { freeze, thaw } from '../linux/cgroups/freezer.js';

/** pause: freezes a created or running container's processes; `state` then says paused. */
export function pauseContainer(root: string, id: string): void {
  withLock(root, id, () => {
    const state = readState(root, id);
    const status = statusOf(root, state);
    if (status !== 'created' && status !== 'running') throw new RuntsError('container not running');
    if (!state.cgroups) throw new RuntsError('the container has no cgroups to freeze');
    freeze(state.cgroups);
  });
}

/** resume: thaws a paused container. */
export function resumeContainer(root: string, id: string): void {
  withLock(root, id, () => {
    const state = readState(root, id);
    if (statusOf(root, state) !== 'paused') throw new RuntsError('container not paused');
    thaw(state.cgroups!);
  });
}
