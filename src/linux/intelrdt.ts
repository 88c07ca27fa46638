import { mkdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { posix } from 'node:path';
import type { LinuxIntelRdt, Spec } from '../spec/types/config.js';
import type { Emitter } from '../program/emit.js';
import { emitJoinSelf } from './cgroups/join.js';
import { RuntsError } from '../errors.js';
import * as log from '../log.js';

/**
 * linux.intelRdt (config-linux.md "IntelRdt"): the container's processes in a resctrl
 * group — a class of service with its cache and memory bandwidth schemata — and, with
 * enableMonitoring, in a MON group of its own below it.
 *
 * planIntelRdt decides from the config alone which group, whether it is made, must exist
 * or is compared, the schemata lines and what delete removes; the rest of this module
 * performs that plan on the resctrl filesystem.
 */

const CONFIG = 'linux.intelRdt';

/** The resctrl mount of a mountinfo text: the first, as runc takes it. */
export function findResctrlMount(mountinfo: string): string | undefined {
  for (const line of mountinfo.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0 || line.slice(sep + 3).split(' ')[0] !== 'resctrl') continue;
    const mountPoint = line.slice(0, sep).split(' ')[4];
    // mountinfo escapes space, tab, newline and backslash as octal
    if (mountPoint) return mountPoint.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  }
  return undefined;
}

/** One line to write to the group's schemata file, with the config field it came from. */
export interface SchemataLine {
  line: string;
  configPath: string;
}

export interface RdtPlan {
  /** The resctrl mount, whose info/last_cmd_status says why a write failed. */
  mount: string;
  /** The group's directory: the mount itself for closID "/". */
  group: string;
  /**
   * An absent group is made (`make`) or an error (`fail`); a present one gets the lines
   * written (`write`), is compared with them (`compare`) or is only joined (`join`).
   */
  absent: 'make' | 'fail';
  present: 'write' | 'compare' | 'join';
  /** In the order written: l3CacheSchema, memBwSchema, then schemata. */
  lines: SchemataLine[];
  /** enableMonitoring: mon_groups/<container-id> below the group, always made. */
  monGroup?: string;
  /** Whether delete removes the group when create made it: only one named after the container. */
  groupRemovable: boolean;
}

/** Names in resctrl's root that are not control groups: a closID may not name them. */
const RESERVED = new Set(['.', '..', 'info', 'mon_groups', 'mon_data']);

/** The plan for a container `id` whose resctrl filesystem is mounted on `mount`. */
export function planIntelRdt(rdt: LinuxIntelRdt, id: string, mount: string): RdtPlan {
  const lines: SchemataLine[] = [];
  // an empty one is unset, as runc reads it
  if (rdt.l3CacheSchema) lines.push({ line: rdt.l3CacheSchema, configPath: `${CONFIG}.l3CacheSchema` });
  if (rdt.memBwSchema) lines.push({ line: rdt.memBwSchema, configPath: `${CONFIG}.memBwSchema` });
  (rdt.schemata ?? []).forEach((line, i) => lines.push({ line, configPath: `${CONFIG}.schemata[${i}]` }));
  const closID = rdt.closID;
  if (closID !== undefined && closID !== '/' && (closID.includes('/') || RESERVED.has(closID) || closID === '')) {
    throw new RuntsError(`closID ${JSON.stringify(closID)} does not name a resctrl group (one name, or "/" for the root group)`, {
      configPath: `${CONFIG}.closID`,
    });
  }
  const group = closID === undefined ? posix.join(mount, id) : closID === '/' ? mount : posix.join(mount, closID);
  const monGroup = rdt.enableMonitoring ? posix.join(group, 'mon_groups', id) : undefined;
  if (closID === undefined) return { mount, group, absent: 'make', present: 'write', lines, monGroup, groupRemovable: true };
  // A named group is shared: made with the schemata when absent, else it must already have them.
  if (lines.length > 0) return { mount, group, absent: 'make', present: 'compare', lines, monGroup, groupRemovable: false };
  return { mount, group, absent: 'fail', present: 'join', lines, monGroup, groupRemovable: false };
}

/** Cache resources take capacity bitmasks, which the kernel prints in hex without leading zeros. */
const MASKED = /^L[23](CODE|DATA)?$/;

/** A schema value as the kernel would print it, so that equal settings compare equal. */
function normalize(resource: string, value: string): string {
  const hex = value.toLowerCase().replace(/^0x/, '');
  if (MASKED.test(resource) && /^[0-9a-f]+$/.test(hex)) return BigInt(`0x${hex}`).toString(16);
  if (/^\d+$/.test(value)) return BigInt(value).toString();
  return value;
}

/** One schemata line as its resource and domain → value, or undefined when it is not one. */
function parseLine(raw: string): { resource: string; domains: [string, string][] } | undefined {
  const colon = raw.indexOf(':');
  // the kernel pads resource names to one width
  const resource = raw.slice(0, colon).trim();
  if (colon < 0 || resource === '') return undefined;
  const domains: [string, string][] = [];
  for (const token of raw.slice(colon + 1).split(';')) {
    if (token.trim() === '') continue;
    const [domain, value, extra] = token.split('=').map((s) => s.trim());
    if (!domain || !value || extra !== undefined) return undefined;
    domains.push([domain, normalize(resource, value)]);
  }
  return { resource, domains };
}

/**
 * How the group's schemata file (`existing`, as the kernel prints it) differs from the
 * lines wanted, or undefined when it has each domain of each resource as wanted. The
 * kernel lists every resource and domain; the config may name some only, and a later
 * line for a resource overrides an earlier one's domains, as writing them in turn would.
 */
export function schemataMismatch(existing: string, wanted: readonly string[]): string | undefined {
  const has = new Map<string, Map<string, string>>();
  for (const raw of existing.split('\n')) {
    const parsed = parseLine(raw);
    if (parsed) has.set(parsed.resource, new Map(parsed.domains));
  }
  const want = new Map<string, Map<string, string>>();
  for (const raw of wanted) {
    const parsed = parseLine(raw);
    if (!parsed) return `${JSON.stringify(raw)} is not a schemata line (RESOURCE:DOMAIN=VALUE;…)`;
    const domains = want.get(parsed.resource) ?? new Map<string, string>();
    for (const [domain, value] of parsed.domains) domains.set(domain, value);
    want.set(parsed.resource, domains);
  }
  for (const [resource, domains] of want) {
    const current = has.get(resource);
    if (!current) return `it has no ${resource} line`;
    for (const [domain, value] of domains) {
      const now = current.get(domain);
      if (now === undefined) return `its ${resource} line has no domain ${domain}`;
      if (now !== value) return `${resource} domain ${domain} is ${now}, not ${value}`;
    }
  }
  return undefined;
}

/** What a container's resctrl groups are, as its state keeps them. */
export interface RdtState {
  mount: string;
  /** The tasks files a process of the container is written to: the group's, then the MON group's. */
  tasks: string[];
  /** The directories delete removes, innermost first. */
  remove: string[];
}

function read(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** Where this host's resctrl filesystem is mounted, or why there is none (also for `check`). */
export function resctrlMount(): { mount?: string; problem?: string } {
  if (!/\bresctrl$/m.test(read('/proc/filesystems'))) {
    return { problem: 'this kernel has no resctrl filesystem (Intel RDT, AMD QoS): not in /proc/filesystems' };
  }
  const mount = findResctrlMount(read('/proc/self/mountinfo'));
  if (mount === undefined) {
    return { problem: 'no resctrl filesystem is mounted in the runtime\'s mount namespace (mount -t resctrl resctrl /sys/fs/resctrl)' };
  }
  return { mount };
}

/**
 * The plan of a config with linux.intelRdt, or undefined without it. The spec has create
 * fail when no resctrl filesystem is mounted; writing a group needs the host's root.
 */
export function intelRdtPlan(spec: Spec, id: string, rootless: boolean): RdtPlan | undefined {
  const rdt = spec.linux?.intelRdt;
  if (!rdt) return undefined;
  const { mount, problem } = resctrlMount();
  if (mount === undefined) throw new RuntsError(problem!, { configPath: CONFIG });
  if (rootless) throw new RuntsError('resctrl groups can only be made and joined by root: not in a rootless container', { configPath: CONFIG });
  return planIntelRdt(rdt, id, mount);
}

function exists(dir: string): boolean {
  try {
    return statSync(dir).isDirectory();
  } catch {
    return false;
  }
}

/** A failed write's reason as resctrl gives it: info/last_cmd_status ("ok" after a success). */
function kernelReason(mount: string): string {
  const status = read(posix.join(mount, 'info', 'last_cmd_status')).trim();
  return status === '' || status === 'ok' ? '' : ` (resctrl: ${status})`;
}

function failed(what: string, mount: string, err: unknown, configPath: string): RuntsError {
  const errno = (err as NodeJS.ErrnoException).errno;
  return new RuntsError(`${what}${kernelReason(mount)}`, { errno: typeof errno === 'number' ? -errno : undefined, configPath, cause: err });
}

/**
 * Performs a plan before the container's processes exist: the group made or checked, its
 * schemata written, the MON group made. On failure what it made is removed again; on
 * success `made` lists it, innermost first, for a create that fails later.
 */
export function applyIntelRdt(plan: RdtPlan): { state: RdtState; made: string[] } {
  const made: string[] = [];
  try {
    const present = exists(plan.group);
    if (!present && plan.absent === 'fail') {
      throw new RuntsError(`resctrl group ${plan.group} does not exist: with no schemata, closID names a group made beforehand`, {
        configPath: `${CONFIG}.closID`,
      });
    }
    if (!present) {
      try {
        mkdirSync(plan.group, { mode: 0o755 });
      } catch (err) {
        throw failed(`make resctrl group ${plan.group}`, plan.mount, err, CONFIG);
      }
      made.unshift(plan.group);
    }
    if (present && plan.present === 'compare') {
      const file = posix.join(plan.group, 'schemata');
      let existing: string;
      try {
        existing = readFileSync(file, 'utf8');
      } catch (err) {
        throw RuntsError.fromNode(`read ${file}`, err, CONFIG);
      }
      const mismatch = schemataMismatch(existing, plan.lines.map((l) => l.line));
      if (mismatch !== undefined) throw new RuntsError(`resctrl group ${plan.group} exists with other schemata: ${mismatch}`, { configPath: CONFIG });
    } else if (!present || plan.present === 'write') {
      const file = posix.join(plan.group, 'schemata');
      for (const { line, configPath } of plan.lines) {
        try {
          writeFileSync(file, `${line}\n`);
        } catch (err) {
          throw failed(`write ${JSON.stringify(line)} to ${file}`, plan.mount, err, configPath);
        }
      }
    }
    if (plan.monGroup !== undefined) {
      try {
        mkdirSync(plan.monGroup, { mode: 0o755 });
      } catch (err) {
        throw failed(`make resctrl MON group ${plan.monGroup}`, plan.mount, err, `${CONFIG}.enableMonitoring`);
      }
      made.unshift(plan.monGroup);
    }
  } catch (err) {
    removeIntelRdt(made);
    throw err;
  }
  const remove = made.filter((dir) => dir === plan.monGroup || plan.groupRemovable);
  const tasks = [plan.group, ...(plan.monGroup === undefined ? [] : [plan.monGroup])].map((d) => posix.join(d, 'tasks'));
  return { state: { mount: plan.mount, tasks, remove }, made };
}

/** Puts the container's init in its groups: the control group first, then its MON group. */
export function joinIntelRdt(state: RdtState, pid: number): void {
  for (const file of state.tasks) {
    try {
      writeFileSync(file, String(pid));
    } catch (err) {
      throw failed(`write the container's init (${pid}) to ${file}`, state.mount, err, CONFIG);
    }
  }
}

/**
 * Removes resctrl groups, innermost first. rmdir, not a recursive removal: a group's files
 * belong to it and go with it, and its tasks move to the parent group. As with cgroups, one
 * that cannot be removed is a warning: the error of a failed create says more, and delete
 * goes on.
 */
export function removeIntelRdt(dirs: readonly string[]): void {
  for (const dir of dirs) {
    try {
      rmdirSync(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') log.warn(RuntsError.fromNode(`resctrl group ${dir} could not be removed`, err).message);
    }
  }
}

/**
 * An exec'd process joins the container's groups as runc's does: the intermediate writes
 * itself ("0", the writer) to each tasks file, so the process it clones is born there.
 * Like the cgroups, before any user namespace, whose root may not write these files.
 */
export function emitJoinIntelRdt(e: Emitter, tasks: readonly string[]): void {
  for (const file of tasks) emitJoinSelf(e, file, { what: `join resctrl group ${posix.dirname(file)}`, configPath: CONFIG });
}
