import { existsSync, readdirSync } from 'node:fs';
import { posix } from 'node:path';
import type { CgroupState } from './apply.js';
import { readText } from './files.js';

/**
 * The container's usage as `runts events` reports it, in the shape runc's events print
 * (its types.Stats), read from whichever cgroup files this host has: the v1 controllers'
 * files, or cgroup2's. Parsing is plain functions of file text; `readStats` only reads.
 */

export interface MemoryEntry {
  limit: number;
  usage?: number;
  max?: number;
  failcnt: number;
}

export interface BlkioEntry {
  major: number;
  minor: number;
  op: string;
  value: number;
}

export interface Stats {
  cpu: {
    usage: { total?: number; percpu?: number[]; kernel: number; user: number };
    throttling: { periods?: number; throttledPeriods?: number; throttledTime?: number };
  };
  memory: { cache?: number; usage?: MemoryEntry; swap?: MemoryEntry; kernel?: MemoryEntry; kernelTCP?: MemoryEntry; raw?: Record<string, number> };
  pids: { current?: number; limit?: number };
  blkio: { ioServiceBytesRecursive?: BlkioEntry[]; ioServicedRecursive?: BlkioEntry[] };
  hugetlb: Record<string, { usage?: number; max?: number; failcnt: number }>;
}

/** "key value" lines (memory.stat, cpu.stat, memory.events) as numbers. */
export function parseKeyValues(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const [key, value] = line.trim().split(/\s+/);
    if (key && value !== undefined && /^-?\d+$/.test(value)) out[key] = Number(value);
  }
  return out;
}

/** A single number, with "max" (no limit) as 0, as runc reports an unlimited value. */
export function parseNumber(text: string): number {
  const t = text.trim();
  return t === '' || t === 'max' ? 0 : Number(t);
}

/** v1 blkio.throttle.* lines: "8:0 Read 4096". */
export function parseBlkioV1(text: string): BlkioEntry[] {
  const out: BlkioEntry[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\d+):(\d+) (\w+) (\d+)$/.exec(line.trim());
    if (m) out.push({ major: Number(m[1]), minor: Number(m[2]), op: m[3], value: Number(m[4]) });
  }
  return out;
}

/** cgroup2 io.stat lines: "8:0 rbytes=1 wbytes=2 rios=3 wios=4 …", as runc turns them into v1 entries. */
export function parseIoStat(text: string): { bytes: BlkioEntry[]; ios: BlkioEntry[] } {
  const bytes: BlkioEntry[] = [];
  const ios: BlkioEntry[] = [];
  for (const line of text.split('\n')) {
    const [dev, ...fields] = line.trim().split(/\s+/);
    const m = /^(\d+):(\d+)$/.exec(dev ?? '');
    if (!m) continue;
    const values = Object.fromEntries(fields.map((f) => f.split('=')).map(([k, v]) => [k, Number(v)]));
    const entry = (op: string, value: number | undefined) => ({ major: Number(m[1]), minor: Number(m[2]), op, value: value ?? 0 });
    bytes.push(entry('Read', values.rbytes), entry('Write', values.wbytes));
    ios.push(entry('Read', values.rios), entry('Write', values.wios));
  }
  return { bytes, ios };
}

/** USER_HZ: what cpuacct.stat counts in. */
const CLOCK_TICKS = 100;

/** The container's usage now. */
export function readStats(state: CgroupState): Stats {
  const find = (file: string) => state.paths.find((p) => existsSync(posix.join(p, file)));
  const read = (dir: string, file: string) => readText(posix.join(dir, file));
  const stats: Stats = { cpu: { usage: { kernel: 0, user: 0 }, throttling: {} }, memory: {}, pids: {}, blkio: {}, hugetlb: {} };

  const cpuacct = find('cpuacct.usage');
  const v2 = state.paths.find((p) => existsSync(posix.join(p, 'cgroup.controllers')));
  if (cpuacct) {
    const ticks = parseKeyValues(read(cpuacct, 'cpuacct.stat'));
    stats.cpu.usage = {
      total: parseNumber(read(cpuacct, 'cpuacct.usage')),
      percpu: read(cpuacct, 'cpuacct.usage_percpu').trim().split(/\s+/).filter(Boolean).map(Number),
      kernel: ((ticks.system ?? 0) * 1e9) / CLOCK_TICKS,
      user: ((ticks.user ?? 0) * 1e9) / CLOCK_TICKS,
    };
  } else if (v2) {
    const s = parseKeyValues(read(v2, 'cpu.stat'));
    stats.cpu.usage = { total: (s.usage_usec ?? 0) * 1000, kernel: (s.system_usec ?? 0) * 1000, user: (s.user_usec ?? 0) * 1000 };
  }
  const cpuStat = find('cpu.cfs_period_us') ?? (v2 && existsSync(posix.join(v2, 'cpu.max')) ? v2 : undefined);
  if (cpuStat) {
    const s = parseKeyValues(read(cpuStat, 'cpu.stat'));
    const throttled = s.throttled_time ?? (s.throttled_usec ?? 0) * 1000;
    stats.cpu.throttling = { periods: s.nr_periods ?? 0, throttledPeriods: s.nr_throttled ?? 0, throttledTime: throttled };
  }

  const memV1 = find('memory.usage_in_bytes');
  if (memV1) {
    const entry = (prefix: string): MemoryEntry | undefined => {
      if (!existsSync(posix.join(memV1, `${prefix}.usage_in_bytes`))) return undefined;
      return {
        limit: parseNumber(read(memV1, `${prefix}.limit_in_bytes`)),
        usage: parseNumber(read(memV1, `${prefix}.usage_in_bytes`)),
        max: parseNumber(read(memV1, `${prefix}.max_usage_in_bytes`)),
        failcnt: parseNumber(read(memV1, `${prefix}.failcnt`)),
      };
    };
    const raw = parseKeyValues(read(memV1, 'memory.stat'));
    stats.memory = {
      cache: raw.cache, usage: entry('memory'), swap: entry('memory.memsw'), kernel: entry('memory.kmem'),
      kernelTCP: entry('memory.kmem.tcp'), raw,
    };
  } else if (v2 && existsSync(posix.join(v2, 'memory.current'))) {
    const raw = parseKeyValues(read(v2, 'memory.stat'));
    const events = parseKeyValues(read(v2, 'memory.events'));
    stats.memory = {
      cache: raw.file,
      usage: {
        limit: parseNumber(read(v2, 'memory.max')), usage: parseNumber(read(v2, 'memory.current')),
        max: parseNumber(read(v2, 'memory.peak')), failcnt: events.max ?? 0,
      },
      swap: { limit: parseNumber(read(v2, 'memory.swap.max')), usage: parseNumber(read(v2, 'memory.swap.current')), failcnt: 0 },
      raw,
    };
  }

  const pids = find('pids.current');
  if (pids) stats.pids = { current: parseNumber(read(pids, 'pids.current')), limit: parseNumber(read(pids, 'pids.max')) };

  const blkio = find('blkio.throttle.io_service_bytes_recursive') ?? find('blkio.throttle.io_service_bytes');
  if (blkio) {
    const recursive = existsSync(posix.join(blkio, 'blkio.throttle.io_service_bytes_recursive')) ? '_recursive' : '';
    stats.blkio = {
      ioServiceBytesRecursive: parseBlkioV1(read(blkio, `blkio.throttle.io_service_bytes${recursive}`)),
      ioServicedRecursive: parseBlkioV1(read(blkio, `blkio.throttle.io_serviced${recursive}`)),
    };
  } else if (v2 && existsSync(posix.join(v2, 'io.stat'))) {
    const io = parseIoStat(read(v2, 'io.stat'));
    stats.blkio = { ioServiceBytesRecursive: io.bytes, ioServicedRecursive: io.ios };
  }

  for (const dir of state.paths) {
    for (const name of safeList(dir)) {
      const v1 = /^hugetlb\.(\w+)\.usage_in_bytes$/.exec(name);
      const cur = /^hugetlb\.(\w+)\.current$/.exec(name);
      if (v1) {
        const size = v1[1];
        stats.hugetlb[size] = {
          usage: parseNumber(read(dir, name)), max: parseNumber(read(dir, `hugetlb.${size}.max_usage_in_bytes`)),
          failcnt: parseNumber(read(dir, `hugetlb.${size}.failcnt`)),
        };
      } else if (cur && !stats.hugetlb[cur[1]]) {
        const size = cur[1];
        stats.hugetlb[size] = { usage: parseNumber(read(dir, name)), failcnt: parseKeyValues(read(dir, `hugetlb.${size}.events`)).max ?? 0 };
      }
    }
  }
  return stats;
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** How many processes of the container the OOM killer has killed so far. */
export function oomKills(state: CgroupState): number {
  for (const [file, key] of [['memory.oom_control', 'oom_kill'], ['memory.events', 'oom_kill']] as const) {
    const dir = state.paths.find((p) => existsSync(posix.join(p, file)));
    if (dir) return parseKeyValues(readText(posix.join(dir, file)))[key] ?? 0;
  }
  return 0;
}
