import type { LinuxResources, Spec } from '../spec/types/config.js';
import { RuntsError } from '../errors.js';
import { assertConfigSchema } from '../spec/validate.js';
import { readState, statusOf, writeState } from './state.js';
import { withLock } from './lock.js';
import { readCgroupHost } from '../linux/cgroups/host.js';
import { planCgroups } from '../linux/cgroups/plan.js';
import { updateCgroups } from '../linux/cgroups/apply.js';
import { limitProperties, managerFacts, setScopeProperties, withManager } from '../linux/cgroups/systemd.js';
import * as log from '../log.js';

/** Resource groups whose fields an update changes one by one; anything else is replaced. */
const MERGED = new Set(['memory', 'cpu', 'pids', 'blockIO']);

/**
 * The container's resources with an update laid over them, as runc merges: a field the
 * update names replaces the old one, the others stay.
 */
export function mergeResources(old: LinuxResources | undefined, update: LinuxResources): LinuxResources {
  const merged: Record<string, unknown> = { ...old };
  for (const [key, value] of Object.entries(update)) {
    const before = merged[key];
    merged[key] = MERGED.has(key) && isObject(before) && isObject(value) ? { ...before, ...value } : value;
  }
  const result = merged as LinuxResources;
  // Unlimited memory with no word on swap lifts the swap limit too, as runc does: the old
  // memory+swap figure would be below an unlimited memory, which the kernel refuses.
  if (update.memory?.limit === -1 && update.memory.swap === undefined) result.memory = { ...result.memory, swap: -1 };
  return result;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * update: new limits for a created, running or paused container, written to its cgroups
 * and kept in its state, so a later update starts from them.
 */
export function updateContainer(root: string, id: string, update: LinuxResources): void {
  withLock(root, id, () => {
    const state = readState(root, id);
    if (statusOf(root, state) === 'stopped') throw new RuntsError('container not running');
    if (!state.cgroups) throw new RuntsError('the container has no cgroups to update');
    // As with runc, an update leaves the device rules alone: engines send them with the
    // rest, and rewriting them on a live container would deny devices in between.
    const { devices, ...limits } = update;
    if (devices !== undefined) log.warn('config.json: linux.resources.devices: ignored: device rules are not updated on a live container');
    const config: Spec = {
      ...state.config,
      linux: { ...state.config.linux, resources: mergeResources(state.config.linux?.resources, limits) },
    };
    assertConfigSchema(config);
    const scope = state.cgroups.systemd;
    const host = readCgroupHost();
    const plan = planCgroups(config, id, host, scope?.path);
    const paths = plan.dirs.map((d) => d.path);
    if (paths.join('\n') !== state.cgroups.paths.join('\n')) {
      throw new RuntsError(`the host's cgroups changed since create: ${paths.join(', ')} is not ${state.cgroups.paths.join(', ')}`);
    }
    // systemd keeps the new limits as the scope's properties (it re-applies those), then
    // the files get runc's exact values as at create.
    if (scope) {
      const v = host.hierarchies[0]?.version ?? 1;
      withManager(scope.manager, (bus) => {
        setScopeProperties(bus, scope, limitProperties(config.linux?.resources, managerFacts(bus, v)));
      });
    }
    // Device rules are planned again with the rest; only the limits are written.
    updateCgroups({ ...plan, writes: plan.writes.filter((w) => !w.configPath.startsWith('linux.resources.devices')) });
    writeState(root, { ...state, config });
  });
}
