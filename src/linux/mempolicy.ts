import { readFileSync } from 'node:fs';
import type { LinuxMemoryPolicy, Spec } from '../spec/types/config.js';
import type { Emitter } from '../program/emit.js';
import { RuntsError } from '../errors.js';

/**
 * linux.memoryPolicy (runtime-spec 1.3): the NUMA memory policy of the container's
 * process, set with set_mempolicy(2) in the setup process before execve (a policy is
 * inherited across fork and kept across execve). Planned here, without effects: the mode
 * and flags as one int, the nodes as a nodemask; what the config gets wrong is an error
 * naming its path before anything is made.
 */

const MODE: Record<LinuxMemoryPolicy['mode'], number> = {
  MPOL_DEFAULT: 0, MPOL_PREFERRED: 1, MPOL_BIND: 2, MPOL_INTERLEAVE: 3, MPOL_LOCAL: 4,
  MPOL_PREFERRED_MANY: 5, MPOL_WEIGHTED_INTERLEAVE: 6,
};
const FLAG: Record<string, number> = {
  MPOL_F_STATIC_NODES: 1 << 15, MPOL_F_RELATIVE_NODES: 1 << 14, MPOL_F_NUMA_BALANCING: 1 << 13,
};
/** The kernel reads at most a page of nodemask bits. */
const MAX_NODE = 4096 * 8 - 1;

export interface MemoryPolicyPlan {
  /** mode | flags, set_mempolicy's first argument. */
  mode: number;
  /** The nodemask, whole 64-bit words (empty for none). */
  mask: Buffer;
  /** set_mempolicy's maxnode: the mask's bits plus one (the kernel counts one less). */
  maxnode: number;
  nodes: number[];
}

/** linux.memoryPolicy of `runts features`: every mode and flag of the spec is recognised. */
export function memoryPolicyFeatures(): { modes: string[]; flags: string[] } {
  return { modes: Object.keys(MODE), flags: Object.keys(FLAG).sort() };
}

/** A node list ("0-3,7"). */
export function parseNodeList(list: string, configPath: string): number[] {
  const nodes = new Set<number>();
  for (const part of list.split(',')) {
    const m = /^\s*(\d+)(?:-(\d+))?\s*$/.exec(part);
    const from = m ? Number(m[1]) : NaN;
    const to = m?.[2] !== undefined ? Number(m[2]) : from;
    if (!m || to < from || to > MAX_NODE) {
      throw new RuntsError(`${JSON.stringify(list)} is not a list of memory nodes such as "0-3,7"`, { configPath });
    }
    for (let n = from; n <= to; n++) nodes.add(n);
  }
  return [...nodes].sort((a, b) => a - b);
}

export function planMemoryPolicy(policy: LinuxMemoryPolicy): MemoryPolicyPlan {
  const mode = MODE[policy.mode];
  if (mode === undefined) throw new RuntsError(`${JSON.stringify(policy.mode)} is not a memory policy mode`, { configPath: 'linux.memoryPolicy.mode' });
  let flags = 0;
  (policy.flags ?? []).forEach((name, i) => {
    const flag = FLAG[name];
    if (flag === undefined) throw new RuntsError(`${JSON.stringify(name)} is not a memory policy flag`, { configPath: `linux.memoryPolicy.flags[${i}]` });
    flags |= flag;
  });
  if (flags & FLAG.MPOL_F_STATIC_NODES && flags & FLAG.MPOL_F_RELATIVE_NODES) {
    throw new RuntsError('MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES exclude each other', { configPath: 'linux.memoryPolicy.flags' });
  }
  if (flags & FLAG.MPOL_F_NUMA_BALANCING && policy.mode !== 'MPOL_BIND') {
    throw new RuntsError(`MPOL_F_NUMA_BALANCING needs MPOL_BIND, not ${policy.mode}`, { configPath: 'linux.memoryPolicy.flags' });
  }
  const nodes = policy.nodes ? parseNodeList(policy.nodes, 'linux.memoryPolicy.nodes') : [];
  if ((policy.mode === 'MPOL_DEFAULT' || policy.mode === 'MPOL_LOCAL') && nodes.length > 0) {
    throw new RuntsError(`${policy.mode} takes no nodes`, { configPath: 'linux.memoryPolicy.nodes' });
  }
  if (nodes.length === 0 && policy.mode !== 'MPOL_DEFAULT' && policy.mode !== 'MPOL_LOCAL' && policy.mode !== 'MPOL_PREFERRED') {
    throw new RuntsError(`${policy.mode} needs at least one node`, { configPath: 'linux.memoryPolicy.nodes' });
  }
  if ((policy.mode === 'MPOL_DEFAULT' || policy.mode === 'MPOL_LOCAL') && flags) {
    throw new RuntsError(`${policy.mode} takes no flags`, { configPath: 'linux.memoryPolicy.flags' });
  }
  const words = nodes.length ? Math.floor(nodes[nodes.length - 1] / 64) + 1 : 0;
  const mask = Buffer.alloc(8 * words);
  for (const n of nodes) mask[n >> 3] |= 1 << (n & 7);
  return { mode: mode | flags, mask, maxnode: words ? 64 * words + 1 : 0, nodes };
}

/** A list file of /sys ("0-1,3"); empty when missing. */
function readNodeList(path: string): number[] {
  try {
    const text = readFileSync(path, 'utf8').trim();
    return text ? parseNodeList(text, path) : [];
  } catch {
    return [];
  }
}

/**
 * What this host cannot give the policy, which the kernel would answer with EINVAL at the
 * last step: nodes are absolute unless MPOL_F_RELATIVE_NODES, and must have memory.
 */
export function memoryPolicyProblems(spec: Spec): RuntsError[] {
  const policy = spec.linux?.memoryPolicy;
  if (!policy) return [];
  let plan: MemoryPolicyPlan;
  try {
    plan = planMemoryPolicy(policy);
  } catch (err) {
    if (err instanceof RuntsError) return [err];
    throw err;
  }
  if (readNodeList('/sys/devices/system/node/possible').length === 0) {
    return [new RuntsError('this kernel has no NUMA support (no /sys/devices/system/node)', { configPath: 'linux.memoryPolicy' })];
  }
  if (policy.flags?.includes('MPOL_F_RELATIVE_NODES')) return [];
  const withMemory = new Set(readNodeList('/sys/devices/system/node/has_memory'));
  const missing = plan.nodes.filter((n) => !withMemory.has(n));
  if (missing.length === 0) return [];
  return [new RuntsError(
    `node${missing.length > 1 ? 's' : ''} ${missing.join(',')} of ${JSON.stringify(policy.nodes)} ${missing.length > 1 ? 'have' : 'has'} no memory on this host (nodes with memory: ${[...withMemory].join(',') || 'none'})`,
    { configPath: 'linux.memoryPolicy.nodes' },
  )];
}

/** Throws the first of memoryPolicyProblems(), for create. */
export function checkMemoryPolicy(spec: Spec): void {
  const [problem] = memoryPolicyProblems(spec);
  if (problem !== undefined) throw problem;
}

/** set_mempolicy(2) for the process; before any seccomp filter, which may not allow it. */
export function emitMemoryPolicy(e: Emitter, spec: Spec): void {
  const policy = spec.linux?.memoryPolicy;
  if (!policy) return;
  const plan = planMemoryPolicy(policy);
  const nodemask = plan.mask.length ? e.p.bytes(plan.mask) : 0;
  e.p.sys('set_mempolicy', [plan.mode, nodemask, plan.maxnode], {
    what: `set memory policy ${policy.mode}${policy.nodes ? ` nodes ${policy.nodes}` : ''}`, configPath: 'linux.memoryPolicy',
  });
}
