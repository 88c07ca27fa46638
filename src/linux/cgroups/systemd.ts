import { readFileSync } from 'node:fs';
import type { LinuxResources } from '../../spec/types/config.js';
import { RuntsError } from '../../errors.js';
import { Bus, DbusError, type DbusValue, type Variant } from '../../sys/sdbus.js';
import { deviceRules, emulateDevices } from './devices.js';
import { blkioToIoWeight, sharesToWeight } from './resources.js';
import { sleep } from './files.js';

/**
 * The systemd cgroup driver (--systemd-cgroup), as runc's: the container's cgroup is a
 * transient scope unit that systemd creates with the setup process in it, in the slice
 * linux.cgroupsPath names ("slice:prefix:name"). Its limits go to systemd as unit
 * properties, so systemd keeps them when it re-applies its own settings (daemon-reload),
 * and into the cgroup files as with cgroupfs, for the settings systemd has no property for
 * and for runc's exact values. The planning here is pure; the D-Bus calls are at the end.
 */

export interface SystemdScope {
  /** The slice unit the scope goes in ("system.slice"). */
  slice: string;
  /** The scope unit ("runts-<id>.scope"). */
  unit: string;
  /**
   * The scope's cgroup, from the hierarchy's root ("/system.slice/runts-<id>.scope"; under
   * a user manager "/user.slice/user-1000.slice/user@1000.service/user.slice/runts-<id>.scope").
   */
  path: string;
  /** Which manager: the system's, or the calling user's (rootless). */
  manager: 'system' | 'user';
}

const CONFIG_PATH = 'linux.cgroupsPath';

/**
 * runc's ExpandSlice: "a-b.slice" is the cgroup /a.slice/a-b.slice; "-.slice" is the
 * root. A name that is not a slice, has a "/" or an empty dash-separated part is refused.
 */
export function expandSlice(slice: string): string {
  const bad = () => new RuntsError(`invalid slice name: ${slice}`, { configPath: CONFIG_PATH });
  if (!slice.endsWith('.slice') || slice.length <= '.slice'.length || slice.includes('/')) throw bad();
  const name = slice.slice(0, -'.slice'.length);
  if (name === '-') return '/';
  let path = '';
  let prefix = '';
  for (const part of name.split('-')) {
    if (part === '') throw bad();
    path += `/${prefix}${part}.slice`;
    prefix += `${part}-`;
  }
  return path;
}

/**
 * The scope for linux.cgroupsPath, read as runc reads it with --systemd-cgroup:
 * "slice:prefix:name" is unit prefix-name.scope in that slice; an empty slice, or no
 * cgroupsPath at all, means system.slice (user.slice for a user manager) and, without
 * cgroupsPath, the prefix "runts" and the container id as name.
 */
export function systemdScope(cgroupsPath: string | undefined, id: string, manager: 'system' | 'user' = 'system'): SystemdScope {
  let slice = '';
  let prefix = 'runts';
  let name = id;
  if (cgroupsPath !== undefined && cgroupsPath !== '') {
    const parts = cgroupsPath.split(':');
    if (parts.length !== 3) {
      throw new RuntsError(`expected cgroupsPath to be of format "slice:prefix:name" for systemd cgroups, got ${JSON.stringify(cgroupsPath)} instead`, { configPath: CONFIG_PATH });
    }
    [slice, prefix, name] = parts;
  }
  if (slice === '') slice = manager === 'user' ? 'user.slice' : 'system.slice';
  if (name.endsWith('.slice')) {
    throw new RuntsError(`${name}: a container's unit must be a scope: systemd slices hold no processes of their own`, { configPath: CONFIG_PATH });
  }
  const unit = `${prefix}-${name}.scope`;
  // systemd's unit name rules: a unit name holds no "/" and is at most 255 bytes
  if (name === '' || unit.includes('/') || Buffer.byteLength(unit) > 255 || /[\0\n]/.test(unit)) {
    throw new RuntsError(`invalid unit name: ${JSON.stringify(unit)}`, { configPath: CONFIG_PATH });
  }
  const parent = expandSlice(slice);
  return { slice, unit, path: `${parent === '/' ? '' : parent}/${unit}`, manager };
}

export type UnitProperty = [name: string, value: Variant];

const prop = (name: string, sig: string, value: DbusValue): UnitProperty => [name, { sig, value }];

/** systemd's "infinity" for limits (UINT64_MAX). */
const INFINITY = 0xffffffffffffffffn;

const limit = (v: number): bigint => (v < 0 ? INFINITY : BigInt(v));

/** A cpuset list ("0-3,8") as systemd's CPU or NUMA mask: bit n of byte n/8. */
export function listToMask(list: string, configPath: string): Uint8Array {
  const bits: number[] = [];
  for (const part of list.split(',')) {
    const m = /^\s*(\d+)(?:-(\d+))?\s*$/.exec(part);
    if (!m) throw new RuntsError(`invalid cpuset list ${JSON.stringify(list)}`, { configPath });
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from || to > 8191) throw new RuntsError(`invalid cpuset list ${JSON.stringify(list)}`, { configPath });
    for (let n = from; n <= to; n++) bits.push(n);
  }
  const mask = new Uint8Array(Math.floor(Math.max(...bits) / 8) + 1);
  for (const n of bits) mask[n >> 3] |= 1 << (n & 7);
  return mask;
}

/** /proc/devices: the driver name of each character and block major ("136" → "pts"). */
export interface DeviceNames {
  char: Map<number, string>;
  block: Map<number, string>;
}

export function parseProcDevices(text: string): DeviceNames {
  const names: DeviceNames = { char: new Map(), block: new Map() };
  let table: Map<number, string> | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('Character devices')) table = names.char;
    else if (line.startsWith('Block devices')) table = names.block;
    else {
      const m = /^\s*(\d+)\s+(\S+)$/.exec(line);
      if (m && table) table.set(Number(m[1]), m[2]);
    }
  }
  return names;
}

/**
 * DevicePolicy and DeviceAllow for the device rules, as runc gives them: systemd only
 * knows allow lists, so a "deny all" default becomes DevicePolicy=strict with the
 * exceptions allowed one by one; a default of "allow" (with or without denials, which
 * systemd cannot say) stays "auto". runts' own rules, applied after, decide exactly.
 */
export function deviceProperties(r: LinuxResources | undefined, names: DeviceNames): UnitProperty[] {
  const state = emulateDevices(deviceRules(r?.devices));
  if (state.defaultAllow) return [prop('DevicePolicy', 's', 'auto')];
  const allow: DbusValue[] = [];
  for (const e of state.exceptions) {
    const perms = ['r', 'w', 'm'].filter((_c, k) => e.access & [2, 4, 1][k]).join('');
    const kind = e.type === 'c' ? 'char' : 'block';
    let node: string | undefined;
    if (e.major < 0) node = `${kind}-*`;
    else if (e.minor >= 0) node = `/dev/${kind}/${e.major}:${e.minor}`;
    else {
      const name = (e.type === 'c' ? names.char : names.block).get(e.major);
      // a major the kernel has no driver for has no devices to allow
      if (name !== undefined) node = `${kind}-${name}`;
    }
    if (node !== undefined) allow.push([node, perms]);
  }
  return [prop('DevicePolicy', 's', 'strict'), prop('DeviceAllow', 'a(ss)', allow)];
}

const set = (v: number | undefined): v is number => v !== undefined && v !== 0;

/** runc's CPUQuotaPerSecUSec: quota per second of period, rounded up to whole 10 ms. */
export function quotaPerSecond(quota: number | undefined, period: number | undefined): bigint | undefined {
  if (!set(quota) && !set(period)) return undefined;
  if (!set(quota) || quota < 0) return INFINITY;
  const perSec = Math.floor((quota * 1_000_000) / (set(period) ? period : 100_000));
  return BigInt(perSec % 10_000 === 0 ? perSec : (Math.floor(perSec / 10_000) + 1) * 10_000);
}

export interface ManagerFacts {
  /** systemd's version: CPUQuotaPeriodUSec needs 242, AllowedCPUs 244. */
  version: number;
  cgroupVersion: 1 | 2;
  devices: DeviceNames;
}

/** The unit properties runc gives for linux.resources (genV1/genV2ResourcesProperties). */
export function resourceProperties(r: LinuxResources | undefined, facts: ManagerFacts): UnitProperty[] {
  return [...deviceProperties(r, facts.devices), ...limitProperties(r, facts)];
}

/** The properties of the limits, without the device rules: what `update` changes. */
export function limitProperties(r: LinuxResources | undefined, facts: ManagerFacts): UnitProperty[] {
  const props: UnitProperty[] = [];
  const v2 = facts.cgroupVersion === 2;
  const m = r?.memory;
  if (set(m?.limit)) props.push(prop(v2 ? 'MemoryMax' : 'MemoryLimit', 't', limit(m.limit)));
  if (v2 && set(m?.reservation)) props.push(prop('MemoryLow', 't', limit(m.reservation)));
  if (v2 && m && set(m.swap)) {
    const swap = m.swap < 0 || !set(m.limit) || m.limit < 0 ? INFINITY : BigInt(Math.max(0, m.swap - m.limit));
    props.push(prop('MemorySwapMax', 't', swap));
  }
  const c = r?.cpu;
  if (set(c?.shares)) props.push(v2 ? prop('CPUWeight', 't', BigInt(sharesToWeight(c.shares))) : prop('CPUShares', 't', BigInt(c.shares)));
  if (set(c?.period) && facts.version >= 242) props.push(prop('CPUQuotaPeriodUSec', 't', BigInt(c.period)));
  const perSec = quotaPerSecond(c?.quota, c?.period);
  if (perSec !== undefined) props.push(prop('CPUQuotaPerSecUSec', 't', perSec));
  if (facts.version >= 244) {
    if (c?.cpus) props.push(prop('AllowedCPUs', 'ay', listToMask(c.cpus, 'linux.resources.cpu.cpus')));
    if (c?.mems) props.push(prop('AllowedMemoryNodes', 'ay', listToMask(c.mems, 'linux.resources.cpu.mems')));
  }
  const weight = r?.blockIO?.weight;
  if (set(weight)) props.push(v2 ? prop('IOWeight', 't', BigInt(blkioToIoWeight(weight))) : prop('BlockIOWeight', 't', BigInt(weight)));
  const pids = r?.pids?.limit;
  if (pids !== undefined && (pids > 0 || pids < 0)) props.push(prop('TasksMax', 't', limit(pids)));
  if (v2) props.push(...unifiedProperties(r?.unified));
  return props;
}

/** The unified entries systemd has properties for (runc's unifiedResToSystemdProps). */
function unifiedProperties(unified: Record<string, string | undefined> | undefined): UnitProperty[] {
  const props: UnitProperty[] = [];
  const bytes = (key: string, v: string): bigint => {
    if (v === 'max') return INFINITY;
    if (!/^\d+$/.test(v)) throw new RuntsError(`${key}: ${JSON.stringify(v)} is not a number of bytes or "max"`, { configPath: `linux.resources.unified.${key}` });
    return BigInt(v);
  };
  for (const [key, raw] of Object.entries(unified ?? {})) {
    const v = (raw ?? '').trim();
    const at = `linux.resources.unified.${key}`;
    if (key === 'memory.max') props.push(prop('MemoryMax', 't', bytes(key, v)));
    else if (key === 'memory.low') props.push(prop('MemoryLow', 't', bytes(key, v)));
    else if (key === 'memory.high') props.push(prop('MemoryHigh', 't', bytes(key, v)));
    else if (key === 'memory.swap.max') props.push(prop('MemorySwapMax', 't', bytes(key, v)));
    else if (key === 'pids.max') props.push(prop('TasksMax', 't', bytes(key, v)));
    else if (key === 'cpu.weight') {
      if (!/^\d+$/.test(v)) throw new RuntsError(`${key}: ${JSON.stringify(v)} is not a weight`, { configPath: at });
      props.push(prop('CPUWeight', 't', BigInt(v)));
    } else if (key === 'cpu.max') {
      const m = /^(max|\d+)(?:\s+(\d+))?$/.exec(v);
      if (!m) throw new RuntsError(`${key}: ${JSON.stringify(v)} is not "quota [period]"`, { configPath: at });
      const perSec = quotaPerSecond(m[1] === 'max' ? -1 : Number(m[1]), m[2] === undefined ? undefined : Number(m[2]));
      if (m[2] !== undefined) props.push(prop('CPUQuotaPeriodUSec', 't', BigInt(m[2])));
      if (perSec !== undefined) props.push(prop('CPUQuotaPerSecUSec', 't', perSec));
    }
  }
  return props;
}

/** The properties of a new scope holding `pid` (runc's Apply). */
export function scopeProperties(scope: SystemdScope, id: string, pid: number, resources: UnitProperty[], cgroupVersion: 1 | 2): UnitProperty[] {
  return [
    prop('Description', 's', `runts container ${id}`),
    prop('Slice', 's', scope.slice),
    prop('PIDs', 'au', [pid]),
    prop('Delegate', 'b', true),
    prop('DefaultDependencies', 'b', false),
    prop('MemoryAccounting', 'b', true),
    prop('CPUAccounting', 'b', true),
    prop(cgroupVersion === 2 ? 'IOAccounting' : 'BlockIOAccounting', 'b', true),
    prop('TasksAccounting', 'b', true),
    ...resources,
  ];
}

// --- effects: D-Bus calls to the manager ---

const SYSTEMD = 'org.freedesktop.systemd1';
const MANAGER_PATH = '/org/freedesktop/systemd1';
const MANAGER = 'org.freedesktop.systemd1.Manager';

/** How long a job of systemd's (starting or stopping the scope) may take. */
const JOB_TIMEOUT_MS = 30_000;

function connect(manager: 'system' | 'user'): Bus {
  try {
    return manager === 'user' ? Bus.user() : Bus.system();
  } catch (err) {
    const whose = manager === 'user' ? "systemd's user manager (rootless --systemd-cgroup)" : 'systemd (--systemd-cgroup)';
    throw new RuntsError(`cannot reach ${whose}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** systemd's version and the facts the properties depend on. */
export function managerFacts(bus: Bus, cgroupVersion: 1 | 2): ManagerFacts {
  const text = String(bus.getProperty(SYSTEMD, MANAGER_PATH, MANAGER, 'Version', 's') ?? '');
  const version = Number(/^v?(\d+)/.exec(text)?.[1] ?? 0);
  return { version, cgroupVersion, devices: parseProcDevices(readFileSync('/proc/devices', 'utf8')) };
}

/** Waits until systemd has finished `job` (its object is gone), within a bound. */
function awaitJob(bus: Bus, job: string, what: string): void {
  const deadline = Date.now() + JOB_TIMEOUT_MS;
  for (;;) {
    try {
      bus.getProperty(SYSTEMD, job, 'org.freedesktop.systemd1.Job', 'State', 's');
    } catch (err) {
      if (err instanceof DbusError) return;
      throw err;
    }
    if (Date.now() > deadline) throw new RuntsError(`systemd did not finish ${what} within ${JOB_TIMEOUT_MS / 1000} s`);
    sleep(2);
  }
}

function unitState(bus: Bus, unit: string): string | undefined {
  try {
    const path = String(bus.call(SYSTEMD, MANAGER_PATH, MANAGER, 'GetUnit', 's', [unit], 'o'));
    return String(bus.getProperty(SYSTEMD, path, 'org.freedesktop.systemd1.Unit', 'ActiveState', 's'));
  } catch (err) {
    if (err instanceof DbusError && err.dbusName === 'org.freedesktop.systemd1.NoSuchUnit') return undefined;
    throw err;
  }
}

function resetFailed(bus: Bus, unit: string): void {
  try {
    bus.call(SYSTEMD, MANAGER_PATH, MANAGER, 'ResetFailedUnit', 's', [unit]);
  } catch {
    // nothing failed to reset
  }
}

/** A manager connection for the duration of `fn`. */
export function withManager<T>(manager: 'system' | 'user', fn: (bus: Bus) => T): T {
  const bus = connect(manager);
  try {
    return fn(bus);
  } finally {
    bus.close();
  }
}

/**
 * Starts the scope with `properties` (which hold the pid) and waits until it is active.
 * A failed unit of the same name, left by an earlier container of this id, is reset first.
 */
export function startScope(bus: Bus, scope: SystemdScope, properties: UnitProperty[]): void {
  const start = () => String(bus.call(SYSTEMD, MANAGER_PATH, MANAGER, 'StartTransientUnit', 'ssa(sv)a(sa(sv))',
    [scope.unit, 'replace', properties, []], 'o'));
  let job: string;
  try {
    job = start();
  } catch (err) {
    if (!(err instanceof DbusError) || err.dbusName !== 'org.freedesktop.systemd1.UnitExists') throw scopeError(scope, err);
    const state = unitState(bus, scope.unit);
    if (state === 'active' || state === 'activating' || state === 'deactivating') {
      throw new RuntsError(`systemd unit ${scope.unit} already exists and is ${state}`, { configPath: CONFIG_PATH });
    }
    resetFailed(bus, scope.unit);
    job = start();
  }
  awaitJob(bus, job, `starting ${scope.unit}`);
  const state = unitState(bus, scope.unit);
  if (state !== 'active') throw new RuntsError(`systemd could not start ${scope.unit}: it is ${state ?? 'gone'}`, { configPath: CONFIG_PATH });
}

function scopeError(scope: SystemdScope, err: unknown): RuntsError {
  return new RuntsError(`start systemd unit ${scope.unit}: ${err instanceof Error ? err.message : String(err)}`, { configPath: CONFIG_PATH });
}

/** `update`: new resource properties for the running scope (runtime only, as runc). */
export function setScopeProperties(bus: Bus, scope: SystemdScope, properties: UnitProperty[]): void {
  bus.call(SYSTEMD, MANAGER_PATH, MANAGER, 'SetUnitProperties', 'sba(sv)', [scope.unit, true, properties]);
}

/** Stops the scope (killing what is left in it) and forgets it; a unit already gone is fine. */
export function stopScope(bus: Bus, scope: SystemdScope): void {
  let job: string;
  try {
    job = String(bus.call(SYSTEMD, MANAGER_PATH, MANAGER, 'StopUnit', 'ss', [scope.unit, 'replace'], 'o'));
  } catch (err) {
    if (err instanceof DbusError && err.dbusName === 'org.freedesktop.systemd1.NoSuchUnit') return;
    throw new RuntsError(`stop systemd unit ${scope.unit}: ${err instanceof Error ? err.message : String(err)}`);
  }
  awaitJob(bus, job, `stopping ${scope.unit}`);
  resetFailed(bus, scope.unit);
}

/**
 * create's connection to the manager the scope goes to, with the scope and the facts its
 * properties depend on: the system's manager, or in rootless mode the calling user's
 * (runc's systemdUser). A user manager's units live in its own cgroup
 * ("/user.slice/user-1000.slice/user@1000.service"), below which the slices expand.
 * cgroupsPath is checked before anything is reached.
 */
export function connectScope(cgroupsPath: string | undefined, id: string, rootless: boolean, cgroupVersion: 1 | 2, unified: boolean): { bus: Bus; scope: SystemdScope; facts: ManagerFacts } {
  const manager = rootless ? 'user' : 'system';
  const scope = systemdScope(cgroupsPath, id, manager);
  // A user manager is delegated cgroup2 subtrees only; runc refuses the same way.
  if (rootless && !unified) throw new RuntsError('--systemd-cgroup in rootless mode needs the unified cgroup v2 hierarchy: systemd delegates no v1 cgroups to a user');
  const bus = connect(manager);
  try {
    if (rootless) scope.path = `${managerCgroup(bus)}${scope.path}`;
    return { bus, scope, facts: managerFacts(bus, cgroupVersion) };
  } catch (err) {
    bus.close();
    throw err;
  }
}

/** The manager's own cgroup ("" for the system's, which is the root). */
function managerCgroup(bus: Bus): string {
  const cgroup = String(bus.getProperty(SYSTEMD, MANAGER_PATH, MANAGER, 'ControlGroup', 's') ?? '');
  return cgroup === '/' ? '' : cgroup;
}

/**
 * Who the user bus says this process is on the host, or undefined without one: root of a
 * user namespace (as a rootless engine runs its runtime) is an unprivileged user there,
 * whose manager then is the user's (runc's DetectUID, from `busctl --user status`).
 */
export function userBusUid(): number | undefined {
  try {
    const bus = Bus.user();
    try {
      const uid = bus.call('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'GetConnectionUnixUser', 's', [bus.uniqueName()], 'u');
      return typeof uid === 'number' ? uid : undefined;
    } finally {
      bus.close();
    }
  } catch {
    return undefined;
  }
}

/**
 * Whether the manager --systemd-cgroup would use answers (for `check`): its version and
 * its own cgroup, or why not.
 */
export function probeSystemd(manager: 'system' | 'user'): { ok: true; version: number; cgroup: string } | { ok: false; why: string } {
  try {
    return withManager(manager, (bus) => ({ ok: true as const, version: managerFacts(bus, 2).version, cgroup: managerCgroup(bus) }));
  } catch (err) {
    return { ok: false, why: err instanceof Error ? err.message : String(err) };
  }
}
