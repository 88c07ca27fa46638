import { readdirSync, readlinkSync } from 'node:fs';
import { RuntsError } from '../errors.js';
import { libc } from '../sys/libc.js';
import { readState, statusOf, type ContainerState } from './state.js';
import { withLock } from './lock.js';
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

export function signalAll(state: ContainerState, signal: number): void {
  const sys = libc();
  for (const pid of containerPids(state)) sys.kill(pid, signal);
}

/** kill: only a created or running container can be signalled. */
export function killContainer(root: string, id: string, signal: number, all: boolean): void {
  withLock(root, id, () => {
    const state = readState(root, id);
    const status = statusOf(root, state);
    if (status !== 'created' && status !== 'running') throw new RuntsError('container not running');
    if (all) {
      signalAll(state, signal);
      return;
    }
    const sys = libc();
    if (sys.kill(state.pid, signal) < 0) throw new RuntsError(`kill ${state.pid}`, { errno: sys.errno() });
  });
}
