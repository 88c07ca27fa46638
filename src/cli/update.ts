import type { GlobalOptions } from './options.js';
import type { LinuxResources } from '../spec/types/config.js';
import { RuntsError } from '../errors.js';
import { updateContainer } from '../container/update.js';
import { CONFIG_LIMIT, parseJsonInput } from '../spec/validate.js';
import { readInputFile, readInputStdin } from '../sys/input-file.js';

interface UpdateFlags {
  resources?: string;
  blkioWeight?: string;
  cpuPeriod?: string;
  cpuQuota?: string;
  cpuShare?: string;
  cpuRtPeriod?: string;
  cpuRtRuntime?: string;
  cpusetCpus?: string;
  cpusetMems?: string;
  memory?: string;
  memoryReservation?: string;
  memorySwap?: string;
  pidsLimit?: string;
  l3CacheSchema?: string;
  memBwSchema?: string;
}

/** A byte count with an optional binary unit, as runc's flags take it ("64m", "1GiB"); -1 is unlimited. */
export function parseBytes(flag: string, value: string): number {
  if (value === '-1') return -1;
  const m = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)(?:i?b)?$/i.exec(value.trim());
  if (!m) throw new RuntsError(`--${flag}: ${JSON.stringify(value)} is not a size (like 512m or 1g)`);
  return inRange(flag, value, Math.round(Number(m[1]) * 1024 ** ' kmgtp'.indexOf(m[2].toLowerCase() || ' ')));
}

/** Cgroup files take 64-bit integers; past 2^53 a JavaScript number is no longer exact. */
function inRange(flag: string, value: string, n: number): number {
  if (!Number.isSafeInteger(n)) throw new RuntsError(`--${flag}: ${JSON.stringify(value)} is out of range`);
  return n;
}

function parseInteger(flag: string, value: string): number {
  if (!/^-?\d+$/.test(value.trim())) throw new RuntsError(`--${flag}: ${JSON.stringify(value)} is not an integer`);
  return inRange(flag, value, Number(value));
}

/** The resources the flags name, in config.json's shape. */
export function resourcesFromFlags(f: UpdateFlags): LinuxResources {
  if (f.l3CacheSchema !== undefined || f.memBwSchema !== undefined) {
    throw new RuntsError('Intel RDT is not supported by runts');
  }
  const r: LinuxResources = {};
  const cpu: NonNullable<LinuxResources['cpu']> = {};
  if (f.cpuShare !== undefined) cpu.shares = parseInteger('cpu-share', f.cpuShare);
  if (f.cpuQuota !== undefined) cpu.quota = parseInteger('cpu-quota', f.cpuQuota);
  if (f.cpuPeriod !== undefined) cpu.period = parseInteger('cpu-period', f.cpuPeriod);
  if (f.cpuRtRuntime !== undefined) cpu.realtimeRuntime = parseInteger('cpu-rt-runtime', f.cpuRtRuntime);
  if (f.cpuRtPeriod !== undefined) cpu.realtimePeriod = parseInteger('cpu-rt-period', f.cpuRtPeriod);
  if (f.cpusetCpus !== undefined) cpu.cpus = f.cpusetCpus;
  if (f.cpusetMems !== undefined) cpu.mems = f.cpusetMems;
  if (Object.keys(cpu).length) r.cpu = cpu;
  const memory: NonNullable<LinuxResources['memory']> = {};
  if (f.memory !== undefined) memory.limit = parseBytes('memory', f.memory);
  if (f.memoryReservation !== undefined) memory.reservation = parseBytes('memory-reservation', f.memoryReservation);
  if (f.memorySwap !== undefined) memory.swap = parseBytes('memory-swap', f.memorySwap);
  if (Object.keys(memory).length) r.memory = memory;
  if (f.pidsLimit !== undefined) r.pids = { limit: parseInteger('pids-limit', f.pidsLimit) };
  if (f.blkioWeight !== undefined) r.blockIO = { weight: parseInteger('blkio-weight', f.blkioWeight) };
  return r;
}

/** The resources of -r: a file, or stdin for "-", holding config.json's linux.resources. */
function resourcesFromFile(path: string): LinuxResources {
  const text = path === '-' ? readInputStdin(CONFIG_LIMIT) : readInputFile(path, CONFIG_LIMIT);
  const doc = parseJsonInput(text, path === '-' ? 'stdin' : path);
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new RuntsError(`${path === '-' ? 'stdin' : path}: expected an object of linux.resources`);
  }
  return doc as LinuxResources;
}

/** update, as runc's: -r replaces the flags; either way only the named fields change. */
export function run(id: string, flags: UpdateFlags, g: GlobalOptions): number {
  const update = flags.resources !== undefined ? resourcesFromFile(flags.resources) : resourcesFromFlags(flags);
  updateContainer(g.root, id, update);
  return 0;
}
