import type {
  LinuxBlockIO, LinuxCPU, LinuxHugepageLimit, LinuxMemory, LinuxNetwork, LinuxResources, LinuxThrottleDevice,
} from '../../spec/types/config.js';
import { RuntsError } from '../../errors.js';

/**
 * linux.resources as cgroup file writes, in v1's or v2's files depending on where the
 * controller is mounted (on a hybrid host, each controller's own hierarchy decides).
 * Values follow runc, including its conversions to v2 (shares to weight, memory+swap to
 * swap alone) and its reading of 0 as "not set" for memory, cpu shares, quota and period
 * and block I/O weights; pids.limit 0 is a real limit, as the spec says.
 */

export interface CgroupWrite {
  dir: string;
  /** Files to try in order: the first that exists gets its value. */
  choices: { file: string; value: string }[];
  /** Skipped when no choice exists, rather than failing. */
  optional?: boolean;
  /**
   * The kernel may refuse this write until a later one is done (a limit below another
   * one's current value); the plan writes the file again after that one.
   */
  mayFail?: boolean;
  configPath: string;
}

export interface Locator {
  /** The directory holding a controller's files: a v1 hierarchy that has it, or cgroup2. */
  controller(v1Name: string, v2Name: string, configPath: string): { dir: string; v2: boolean };
  /** The cgroup2 directory, for a file of `controller` ("cgroup" for the core files). */
  unified(controller: string, configPath: string): string;
}

interface Out {
  writes: CgroupWrite[];
  warnings: string[];
}

const isSet = (v: number | undefined): v is number => v !== undefined && v !== 0;

/** -1 (or any negative value) is "no limit": "max" in v2's files. */
const maxValue = (v: number): string => (v < 0 ? 'max' : String(v));

function writer(out: Out, dir: string) {
  return (file: string, value: string, configPath: string, extra: Partial<CgroupWrite> = {}) => {
    out.writes.push({ dir, choices: [{ file, value }], configPath, ...extra });
  };
}

function ignored(out: Out, configPath: string, why: string): void {
  out.warnings.push(`config.json: ${configPath}: ignored: ${why}`);
}

/** runc's memory.swap.max from the spec's memory+swap figure. */
function swapV2(m: LinuxMemory, at: string): string | undefined {
  if (m.limit === -1 && !isSet(m.swap)) return 'max';
  if (!isSet(m.swap)) return undefined;
  if (m.swap < 0) return 'max';
  if (!isSet(m.limit) || m.limit < 0) {
    throw new RuntsError('a swap limit needs a memory limit on cgroup v2', { configPath: `${at}.swap` });
  }
  if (m.swap < m.limit) {
    throw new RuntsError(`memory+swap (${m.swap}) must not be below the memory limit (${m.limit})`, { configPath: `${at}.swap` });
  }
  return String(m.swap - m.limit);
}

function memory(m: LinuxMemory, where: Locator, out: Out): void {
  const at = 'linux.resources.memory';
  if (m.kernel !== undefined) ignored(out, `${at}.kernel`, 'the kernel no longer limits kernel memory apart');
  const wanted = isSet(m.limit) || isSet(m.reservation) || isSet(m.swap) || m.kernelTCP !== undefined
    || m.swappiness !== undefined || m.disableOOMKiller === true || m.useHierarchy !== undefined;
  if (!wanted) return;
  const { dir, v2 } = where.controller('memory', 'memory', at);
  const w = writer(out, dir);
  if (v2) {
    const swap = swapV2(m, at);
    // With swap accounting off there is no memory.swap.max; an explicit limit must fail then.
    if (swap !== undefined) w('memory.swap.max', swap, `${at}.swap`, { optional: !isSet(m.swap) || m.swap < 0 });
    if (isSet(m.limit)) w('memory.max', maxValue(m.limit), `${at}.limit`);
    if (isSet(m.reservation)) w('memory.low', maxValue(m.reservation), `${at}.reservation`);
    if (m.kernelTCP !== undefined) ignored(out, `${at}.kernelTCP`, 'cgroup v2 has no separate tcp memory limit');
    if (m.swappiness !== undefined) ignored(out, `${at}.swappiness`, 'cgroup v2 has no per-cgroup swappiness');
    if (m.disableOOMKiller) ignored(out, `${at}.disableOOMKiller`, 'cgroup v2 cannot turn the oom killer off');
    if (m.useHierarchy === false) {
      throw new RuntsError('cgroup v2 memory accounting is always hierarchical', { configPath: `${at}.useHierarchy` });
    }
    return;
  }
  // Unlimited memory with swap unset means unlimited swap too, as with runc.
  const swap = isSet(m.swap) ? m.swap : m.limit === -1 ? -1 : undefined;
  // Unlimited swap is what a host without swap accounting (no memsw file) has anyway.
  const swapStep = { configPath: `${at}.swap`, optional: !isSet(m.swap) || m.swap < 0 };
  if (isSet(m.limit) && swap !== undefined) {
    // memsw may never be below the limit: one of the two orders works, depending on the
    // current values, so memsw is tried first and written again after the limit.
    w('memory.memsw.limit_in_bytes', String(swap), swapStep.configPath, { ...swapStep, mayFail: true });
    w('memory.limit_in_bytes', String(m.limit), `${at}.limit`);
    w('memory.memsw.limit_in_bytes', String(swap), swapStep.configPath, swapStep);
  } else if (isSet(m.limit)) {
    w('memory.limit_in_bytes', String(m.limit), `${at}.limit`);
  } else if (swap !== undefined) {
    w('memory.memsw.limit_in_bytes', String(swap), swapStep.configPath, swapStep);
  }
  if (isSet(m.reservation)) w('memory.soft_limit_in_bytes', String(m.reservation), `${at}.reservation`);
  if (m.kernelTCP !== undefined) w('memory.kmem.tcp.limit_in_bytes', String(m.kernelTCP), `${at}.kernelTCP`);
  if (m.swappiness !== undefined) w('memory.swappiness', String(m.swappiness), `${at}.swappiness`);
  if (m.disableOOMKiller) w('memory.oom_control', '1', `${at}.disableOOMKiller`);
  if (m.useHierarchy !== undefined) w('memory.use_hierarchy', m.useHierarchy ? '1' : '0', `${at}.useHierarchy`);
}

/** runc's mapping of cpu.shares (2..262144) onto cpu.weight (1..10000). */
export function sharesToWeight(shares: number): number {
  return Math.min(10000, Math.max(1, 1 + Math.floor(((shares - 2) * 9999) / 262142)));
}

function cpu(c: LinuxCPU, where: Locator, out: Out): void {
  const at = 'linux.resources.cpu';
  const scheduling = isSet(c.shares) || isSet(c.quota) || isSet(c.period) || c.burst !== undefined
    || isSet(c.realtimeRuntime) || isSet(c.realtimePeriod) || c.idle !== undefined;
  if (scheduling) {
    const { dir, v2 } = where.controller('cpu', 'cpu', at);
    const w = writer(out, dir);
    if (v2) {
      if (isSet(c.shares)) w('cpu.weight', String(sharesToWeight(c.shares)), `${at}.shares`);
      if (isSet(c.quota) || isSet(c.period)) {
        const quota = isSet(c.quota) && c.quota > 0 ? String(c.quota) : 'max';
        w('cpu.max', `${quota} ${isSet(c.period) ? c.period : 100000}`, isSet(c.quota) ? `${at}.quota` : `${at}.period`);
      }
      if (c.burst !== undefined) w('cpu.max.burst', String(c.burst), `${at}.burst`);
      if (isSet(c.realtimeRuntime) || isSet(c.realtimePeriod)) {
        const path = isSet(c.realtimeRuntime) ? `${at}.realtimeRuntime` : `${at}.realtimePeriod`;
        throw new RuntsError('cgroup v2 has no realtime cpu budget', { configPath: path });
      }
      if (c.idle !== undefined) w('cpu.idle', String(c.idle), `${at}.idle`);
    } else {
      if (isSet(c.shares)) w('cpu.shares', String(c.shares), `${at}.shares`);
      // A shorter period can be refused while the old quota stands: then it goes in again after the quota.
      if (isSet(c.period)) w('cpu.cfs_period_us', String(c.period), `${at}.period`, { mayFail: isSet(c.quota) });
      if (isSet(c.quota)) {
        w('cpu.cfs_quota_us', String(c.quota), `${at}.quota`);
        if (isSet(c.period)) w('cpu.cfs_period_us', String(c.period), `${at}.period`);
      }
      if (c.burst !== undefined) w('cpu.cfs_burst_us', String(c.burst), `${at}.burst`);
      if (isSet(c.realtimePeriod)) w('cpu.rt_period_us', String(c.realtimePeriod), `${at}.realtimePeriod`);
      if (isSet(c.realtimeRuntime)) w('cpu.rt_runtime_us', String(c.realtimeRuntime), `${at}.realtimeRuntime`);
      if (c.idle !== undefined) w('cpu.idle', String(c.idle), `${at}.idle`);
    }
  }
  if (c.cpus || c.mems) {
    const { dir } = where.controller('cpuset', 'cpuset', at);
    const w = writer(out, dir);
    if (c.cpus) w('cpuset.cpus', c.cpus, `${at}.cpus`);
    if (c.mems) w('cpuset.mems', c.mems, `${at}.mems`);
  }
}

/** runc's mapping of blkio weights (10..1000) onto io.weight (1..10000). */
export function blkioToIoWeight(weight: number): number {
  return 1 + Math.floor(((weight - 10) * 9999) / 990);
}

const THROTTLES = [
  ['throttleReadBpsDevice', 'read_bps_device', 'rbps'],
  ['throttleWriteBpsDevice', 'write_bps_device', 'wbps'],
  ['throttleReadIOPSDevice', 'read_iops_device', 'riops'],
  ['throttleWriteIOPSDevice', 'write_iops_device', 'wiops'],
] as const;

function blockIO(b: LinuxBlockIO, where: Locator, out: Out): void {
  const at = 'linux.resources.blockIO';
  const wanted = isSet(b.weight) || isSet(b.leafWeight) || (b.weightDevice?.length ?? 0) > 0
    || THROTTLES.some(([key]) => (b[key]?.length ?? 0) > 0);
  if (!wanted) return;
  const { dir, v2 } = where.controller('blkio', 'io', at);
  const push = (choices: { file: string; value: string }[], configPath: string) => out.writes.push({ dir, choices, configPath });
  const leafError = (configPath: string) => new RuntsError('cgroup v2 has no leaf weights', { configPath });
  if (isSet(b.weight)) {
    push(v2
      ? [{ file: 'io.bfq.weight', value: String(b.weight) }, { file: 'io.weight', value: String(blkioToIoWeight(b.weight)) }]
      : [{ file: 'blkio.weight', value: String(b.weight) }, { file: 'blkio.bfq.weight', value: String(b.weight) }], `${at}.weight`);
  }
  if (isSet(b.leafWeight)) {
    if (v2) throw leafError(`${at}.leafWeight`);
    push([{ file: 'blkio.leaf_weight', value: String(b.leafWeight) }], `${at}.leafWeight`);
  }
  (b.weightDevice ?? []).forEach((d, i) => {
    const path = `${at}.weightDevice[${i}]`;
    const dev = `${d.major}:${d.minor}`;
    if (isSet(d.weight)) {
      push(v2
        ? [{ file: 'io.bfq.weight', value: `${dev} ${d.weight}` }, { file: 'io.weight', value: `${dev} ${blkioToIoWeight(d.weight)}` }]
        : [{ file: 'blkio.weight_device', value: `${dev} ${d.weight}` }, { file: 'blkio.bfq.weight_device', value: `${dev} ${d.weight}` }], `${path}.weight`);
    }
    if (isSet(d.leafWeight)) {
      if (v2) throw leafError(`${path}.leafWeight`);
      push([{ file: 'blkio.leaf_weight_device', value: `${dev} ${d.leafWeight}` }], `${path}.leafWeight`);
    }
  });
  for (const [key, v1File, v2Key] of THROTTLES) {
    (b[key] ?? []).forEach((t: LinuxThrottleDevice, i) => {
      const dev = `${t.major}:${t.minor}`;
      const choice = v2 ? { file: 'io.max', value: `${dev} ${v2Key}=${t.rate}` } : { file: `blkio.throttle.${v1File}`, value: `${dev} ${t.rate}` };
      push([choice], `${at}.${key}[${i}]`);
    });
  }
}

function hugepages(limits: LinuxHugepageLimit[], where: Locator, out: Out): void {
  limits.forEach((h, i) => {
    const at = `linux.resources.hugepageLimits[${i}]`;
    // The size becomes part of a file name.
    if (!/^\d+[KMGTP]?B$/.test(h.pageSize)) {
      throw new RuntsError(`page size must look like 2MB or 1GB, got ${JSON.stringify(h.pageSize)}`, { configPath: `${at}.pageSize` });
    }
    const { dir, v2 } = where.controller('hugetlb', 'hugetlb', at);
    const w = writer(out, dir);
    const [limit, rsvd] = v2 ? ['max', 'rsvd.max'] : ['limit_in_bytes', 'rsvd.limit_in_bytes'];
    w(`hugetlb.${h.pageSize}.${limit}`, String(h.limit), `${at}.limit`);
    // Reservations are limited too where the kernel accounts them (5.7 and later).
    w(`hugetlb.${h.pageSize}.${rsvd}`, String(h.limit), `${at}.limit`, { optional: true });
  });
}

function network(n: LinuxNetwork, where: Locator, out: Out): void {
  const at = 'linux.resources.network';
  if (n.classID !== undefined) {
    const { dir } = where.controller('net_cls', 'net_cls', `${at}.classID`);
    writer(out, dir)('net_cls.classid', String(n.classID), `${at}.classID`);
  }
  (n.priorities ?? []).forEach((p, i) => {
    const path = `${at}.priorities[${i}]`;
    if (!/^[^\s/]+$/.test(p.name)) throw new RuntsError(`not an interface name: ${JSON.stringify(p.name)}`, { configPath: `${path}.name` });
    const { dir } = where.controller('net_prio', 'net_prio', path);
    writer(out, dir)('net_prio.ifpriomap', `${p.name} ${p.priority}`, path);
  });
}

function rdma(limits: NonNullable<LinuxResources['rdma']>, where: Locator, out: Out): void {
  for (const [device, l] of Object.entries(limits)) {
    const at = `linux.resources.rdma[${JSON.stringify(device)}]`;
    const parts = [
      ...(l?.hcaHandles !== undefined ? [`hca_handle=${l.hcaHandles}`] : []),
      ...(l?.hcaObjects !== undefined ? [`hca_object=${l.hcaObjects}`] : []),
    ];
    if (parts.length === 0) continue;
    if (!/^[^\s/]+$/.test(device)) throw new RuntsError('not an rdma device name', { configPath: at });
    const { dir } = where.controller('rdma', 'rdma', at);
    writer(out, dir)('rdma.max', `${device} ${parts.join(' ')}`, at);
  }
}

function unified(files: NonNullable<LinuxResources['unified']>, where: Locator, out: Out): void {
  for (const [key, value] of Object.entries(files)) {
    if (value === undefined) continue;
    const at = `linux.resources.unified[${JSON.stringify(key)}]`;
    const m = /^([a-z_]+)\.[^/]+$/.exec(key);
    if (!m) throw new RuntsError('must name a cgroup file such as memory.high', { configPath: at });
    writer(out, where.unified(m[1], at))(key, value, at);
  }
}

/** The writes for everything in linux.resources but devices (see devices.ts). */
export function resourceWrites(r: LinuxResources, where: Locator, warnings: string[]): CgroupWrite[] {
  const out: Out = { writes: [], warnings };
  if (r.cpu) cpu(r.cpu, where, out);
  if (r.memory) memory(r.memory, where, out);
  if (r.pids?.limit !== undefined) {
    const { dir } = where.controller('pids', 'pids', 'linux.resources.pids');
    writer(out, dir)('pids.max', maxValue(r.pids.limit), 'linux.resources.pids.limit');
  }
  if (r.blockIO) blockIO(r.blockIO, where, out);
  if (r.hugepageLimits) hugepages(r.hugepageLimits, where, out);
  if (r.network) network(r.network, where, out);
  if (r.rdma) rdma(r.rdma, where, out);
  // Last, so that a file set both ways ends with the unified value, as with runc.
  if (r.unified) unified(r.unified, where, out);
  return out.writes;
}
