import { readdirSync, readlinkSync } from 'node:fs';
import type { ContainerState } from './state.js';
import { cgroupPids } from '../linux/cgroups/apply.js';

/**
 * The container's processes: those in its cgroup, which no process leaves by changing
 * pid namespace; for a container without cgroups, every process in its own pid namespace,
 * else the init alone.
 */
export function containerPids(state: ContainerState): number[] {
  if (state.cgroups) return cgroupPids(state.cgroups);
  const ownPidNs = (state.config.linux?.namespaces ?? []).some((n) => n.type === 'pid' && !n.path);
  if (!ownPidNs) return [state.pid];
  let ns: string;
  try {
    ns = readlinkSync(`/proc/${state.pid}/ns/pid`);
  } catch {
    return [];
  }
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/ns/pid`) === ns) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}
