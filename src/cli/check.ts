import { memoryPolicyProblems } from '../linux/mempolicy.js';
import { resctrlMount } from '../linux/intelrdt.js';
import { accessSync, constants, existsSync, readFileSync, readdirSync } from 'node:fs';
import { release } from 'node:os';
import { posix, resolve } from 'node:path';
import type { GlobalOptions } from './options.js';
import { RuntsErrors } from '../errors.js';
import { readCgroupHost, type CgroupHost } from '../linux/cgroups/host.js';
import { planCgroups } from '../linux/cgroups/plan.js';
import { probeSystemd, systemdScope } from '../linux/cgroups/systemd.js';
import { mountOptionProblems } from '../linux/fs-context.js';
import { apparmorProfileLoaded } from '../linux/process-attributes.js';
import { featuresDocument } from '../features.js';
import { criuCheck } from '../linux/criu.js';
import { writeStdout } from '../log.js';
import { decideRootless } from '../container/rootless.js';
import { ownIdOnly } from '../linux/rootless-maps.js';
import type { Spec } from '../spec/types/config.js';
import { CAPABILITIES, NAMESPACE_FILES } from '../spec/linux-names.js';
import { findUnknownProperties, formatProblem, loadBundleConfig } from '../spec/validate.js';

/**
 * `runts check`: validates a bundle, then reports what this host (and this build of
 * runts) cannot provide for it. One line per finding: `ok:`, `warning:` (the container
 * runs, without what the line names) or `problem:` (creating the container fails).
 * Exit status 1 when there is any problem.
 */

type Level = 'ok' | 'warning' | 'problem';

/** The findings so far, in the order they were made. */
class Report {
  readonly lines: { level: Level; text: string }[] = [];

  ok(text: string): void {
    this.lines.push({ level: 'ok', text });
  }

  warning(text: string): void {
    this.lines.push({ level: 'warning', text });
  }

  problem(text: string): void {
    this.lines.push({ level: 'problem', text });
  }

  get problems(): number {
    return this.lines.filter((l) => l.level === 'problem').length;
  }

  print(): void {
    const n = this.problems;
    const summary =
      n === 0
        ? 'the container can run on this host'
        : `${n} problem${n === 1 ? '' : 's'}: the container cannot run on this host`;
    writeStdout([...this.lines.map((l) => `${l.level}: ${l.text}`), summary].join('\n') + '\n');
  }
}

/** mount_setattr(2) with MOUNT_ATTR_IDMAP appeared in Linux 5.12. */
const IDMAP_KERNEL: [number, number] = [5, 12];

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** A field of /proc/self/status ("CapBnd", "Seccomp"). */
function statusField(name: string): string | undefined {
  const m = new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(read('/proc/self/status') ?? '');
  return m?.[1].trim();
}

function kernelAtLeast([major, minor]: [number, number]): boolean {
  const [a, b] = release()
    .split('.')
    .map((n) => parseInt(n, 10));
  return a > major || (a === major && b >= minor);
}

/**
 * The cgroup layout, and whether create could set up this config's cgroups here: the
 * same planning create does, so the two never disagree.
 */
function checkCgroups(spec: Spec, out: Report, systemd: boolean, rootless: boolean): void {
  let host: CgroupHost;
  try {
    host = readCgroupHost();
  } catch (err) {
    out.problem(`cgroups: ${(err as Error).message}`);
    return;
  }
  const v1 = host.hierarchies.some((h) => h.version === 1);
  const v2 = host.hierarchies.some((h) => h.version === 2);
  if (!v1 && !v2) {
    out.problem('cgroup layout: nothing usable mounted on /sys/fs/cgroup');
    return;
  }
  out.ok(`cgroup layout: ${v1 && v2 ? 'hybrid (v1 controllers and a cgroup2 hierarchy)' : v2 ? 'v2' : 'v1'}`);
  // The systemd driver needs the manager over D-Bus (the user's in rootless mode); without
  // --systemd-cgroup it is news only.
  const manager = rootless ? 'user' : 'system';
  const sd = probeSystemd(manager);
  const whose = rootless ? "systemd's user manager" : 'systemd';
  if (sd.ok) out.ok(`${whose} (systemd ${sd.version}) reachable: --systemd-cgroup can be used${rootless ? `, its scopes go below ${sd.cgroup}` : ''}`);
  else if (systemd) out.problem(`--systemd-cgroup: ${sd.why}`);
  else out.ok(`${whose} not reachable (${sd.why}): use the cgroupfs driver (the default)`);
  if (systemd && rootless && v1) out.problem('--systemd-cgroup in rootless mode needs the unified cgroup v2 hierarchy: systemd delegates no v1 cgroups to a user');
  try {
    const scope = systemd ? systemdScope(spec.linux?.cgroupsPath, 'check', manager) : undefined;
    planCgroups(spec, 'check', host, scope && `${sd.ok ? sd.cgroup : ''}${scope.path}`);
    if (spec.linux?.resources) out.ok('cgroup controllers: all that linux.resources needs');
  } catch (err) {
    out.problem((err as Error).message);
  }
}

/** The first executable `name` on PATH (as spawn finds newuidmap), or undefined. */
function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(':')) {
    const file = `${dir || '.'}/${name}`;
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // next
    }
  }
  return undefined;
}

/** Whether this process could mkdir `dir`: its nearest existing ancestor is writable. */
function canMake(dir: string): boolean {
  for (let d = dir; ; d = posix.dirname(d)) {
    if (existsSync(d)) {
      try {
        accessSync(d, constants.W_OK);
        return d !== dir;
      } catch {
        return false;
      }
    }
    if (d === '/') return false;
  }
}

/** Whether create would run rootless; an invalid --rootless is checkRootless's to report. */
function rootlessOrNot(globals: GlobalOptions): boolean {
  try {
    return decideRootless(globals.rootless, globals.systemdCgroup);
  } catch {
    return false;
  }
}

/** Rootless mode (--rootless, decided as runc does): what an unprivileged runtime cannot do for this config. */
function checkRootless(spec: Spec, out: Report, globals: GlobalOptions): void {
  let rootless: boolean;
  try {
    rootless = decideRootless(globals.rootless, globals.systemdCgroup);
  } catch (err) {
    out.problem((err as Error).message);
    return;
  }
  if (!rootless) return;
  const euid = process.geteuid!();
  out.ok(`rootless (uid ${euid}): only the cgroups this user may make, the state under ${globals.root}`);
  if (euid === 0) return;
  for (const [key, id, tool] of [['uidMappings', euid, 'newuidmap'], ['gidMappings', process.getegid!(), 'newgidmap']] as const) {
    const maps = spec.linux?.[key];
    if (maps === undefined || ownIdOnly(maps, id)) continue;
    if (!onPath(tool)) out.problem(`linux.${key}: mapping more than the caller's own id needs ${tool} (Debian's uidmap package), not found on PATH`);
    else out.ok(`linux.${key}: written by ${tool}, which checks them against /etc/sub${key === 'uidMappings' ? 'uid' : 'gid'}`);
  }
  // the user's manager makes the scope (checkCgroups)
  if (globals.systemdCgroup) return;
  let plan: ReturnType<typeof planCgroups>;
  try {
    plan = planCgroups(spec, 'check', readCgroupHost());
  } catch {
    return; // checkCgroups reports it
  }
  const denied = new Set(plan.dirs.map((d) => d.path).filter((d) => !canMake(d)));
  if (denied.size === 0) return;
  if (spec.linux?.cgroupsPath) {
    out.problem(`linux.cgroupsPath: rootless: this user cannot create ${[...denied].join(', ')}`);
    return;
  }
  // as create does: those hierarchies are left out, and so is a device rule there
  const limits = plan.writes.filter((w) => denied.has(w.dir) && !w.choices[0]?.file.startsWith('devices.'));
  for (const path of new Set(limits.map((w) => w.configPath))) {
    out.problem(`${path}: rootless: no cgroup this user may create holds this limit (a delegated cgroup2 subtree, as systemd's Delegate=yes gives, would)`);
  }
  if (limits.length === 0) out.ok('rootless: no cgroup limits, so none are needed');
}

function checkNamespaces(spec: Spec, out: Report): void {
  const present: string[] = [];
  (spec.linux?.namespaces ?? []).forEach((ns, i) => {
    const file = `/proc/self/ns/${NAMESPACE_FILES[ns.type]}`;
    if (existsSync(file)) present.push(ns.type);
    else out.problem(`linux.namespaces[${i}]: this kernel has no ${ns.type} namespaces (no ${file})`);
  });
  if (present.length > 0) out.ok(`namespaces: ${present.join(', ')}`);
  const newUserNs = spec.linux?.namespaces?.some((ns) => ns.type === 'user' && ns.path === undefined);
  if (newUserNs && (read('/proc/sys/user/max_user_namespaces') ?? '0').trim() === '0') {
    out.problem('user namespaces are disabled (/proc/sys/user/max_user_namespaces is 0)');
  }
  if (!newUserNs && process.getuid?.() !== 0) {
    out.problem(`runts runs as uid ${process.getuid?.()}: without a new user namespace it needs root`);
  }
  if (spec.linux?.timeOffsets && !existsSync('/proc/self/timens_offsets')) {
    out.problem('linux.timeOffsets: this kernel cannot offset clocks (no /proc/self/timens_offsets)');
  }
}

function checkCapabilities(spec: Spec, out: Report): void {
  const caps = spec.process?.capabilities;
  if (!caps) return;
  const bounding = BigInt(`0x${statusField('CapBnd') ?? '0'}`);
  const missing = new Map<string, string>();
  for (const [set, names] of Object.entries(caps) as [string, string[] | undefined][]) {
    (names ?? []).forEach((name, i) => {
      const bit = CAPABILITIES.indexOf(name);
      if (bit >= 0 && !(bounding & (1n << BigInt(bit))) && !missing.has(name)) {
        missing.set(name, `process.capabilities.${set}[${i}]`);
      }
    });
  }
  // The spec has runtimes warn about, not fail on, capabilities they cannot grant.
  for (const [name, path] of missing) {
    out.warning(`${path}: ${name} is not in this host's bounding set and will not be granted`);
  }
  if (missing.size === 0) out.ok("capabilities within this host's bounding set");
}

/** Directories the dynamic linker searches for libseccomp.so.2 on common distributions. */
function libraryDirs(): string[] {
  const dirs = ['/lib', '/lib64', '/usr/lib', '/usr/lib64', '/usr/local/lib'];
  for (const base of ['/lib', '/usr/lib']) {
    try {
      const multiarch = readdirSync(base).filter((e) => e.endsWith('-linux-gnu') || e.endsWith('-linux-musl'));
      dirs.push(...multiarch.map((e) => `${base}/${e}`));
    } catch {
      // no such directory on this host
    }
  }
  return dirs;
}

function checkSecurity(spec: Spec, out: Report): void {
  const features = featuresDocument().linux;
  if (spec.linux?.seccomp) {
    if (statusField('Seccomp') === undefined) {
      out.problem('linux.seccomp: this kernel has no seccomp (no Seccomp field in /proc/self/status)');
    } else if (!libraryDirs().some((d) => existsSync(`${d}/libseccomp.so.2`))) {
      out.problem('linux.seccomp: libseccomp.so.2 is not installed');
    } else if (!features?.seccomp?.enabled) {
      out.problem('linux.seccomp: runts does not implement seccomp');
    } else {
      out.ok('seccomp (kernel and libseccomp.so.2)');
    }
  }
  if (spec.process?.apparmorProfile) {
    if ((read('/sys/module/apparmor/parameters/enabled') ?? '').trim() !== 'Y') {
      out.problem('process.apparmorProfile: AppArmor is not enabled on this host');
    } else if (!features?.apparmor?.enabled) {
      out.problem('process.apparmorProfile: runts does not implement AppArmor');
    } else {
      const profile = spec.process.apparmorProfile;
      const loaded = apparmorProfileLoaded(profile);
      if (loaded === false) out.problem(`process.apparmorProfile: AppArmor profile ${profile} is not loaded`);
      else out.ok(loaded ? `AppArmor (profile ${profile} loaded)` : 'AppArmor');
    }
  }
  const selinuxPath = spec.process?.selinuxLabel
    ? 'process.selinuxLabel'
    : spec.linux?.mountLabel
      ? 'linux.mountLabel'
      : '';
  if (selinuxPath) {
    if (!existsSync('/sys/fs/selinux/enforce')) {
      out.problem(`${selinuxPath}: SELinux is not enabled on this host`);
    } else if (!features?.selinux?.enabled) {
      out.problem(`${selinuxPath}: runts does not implement SELinux`);
    } else {
      out.ok('SELinux');
    }
  }
}

/** "2MB" -> 2048: the kB figure /sys/kernel/mm/hugepages names page sizes by. */
function pageSizeKB(pageSize: string): number {
  const m = /^(\d+)([KMGTP]?)B$/.exec(pageSize);
  if (!m) return NaN;
  return (Number(m[1]) * 1024 ** 'BKMGTP'.indexOf(m[2] || 'B')) / 1024;
}

function checkDevicesAndMounts(spec: Spec, out: Report): void {
  const features = featuresDocument().linux;
  for (const { configPath, message } of mountOptionProblems(spec)) out.problem(`${configPath}: ${message}`);
  (spec.mounts ?? []).forEach((m, i) => {
    const idmapped = m.uidMappings !== undefined || m.options?.some((o) => o === 'idmap' || o === 'ridmap');
    if (!idmapped) return;
    if (!kernelAtLeast(IDMAP_KERNEL)) {
      out.problem(`mounts[${i}]: idmapped mounts need linux ${IDMAP_KERNEL.join('.')} (this is ${release()})`);
    } else if (!features?.mountExtensions?.idmap?.enabled) {
      out.problem(`mounts[${i}]: runts does not implement idmapped mounts`);
    }
  });
  for (const [i, limit] of (spec.linux?.resources?.hugepageLimits ?? []).entries()) {
    if (!existsSync(`/sys/kernel/mm/hugepages/hugepages-${pageSizeKB(limit.pageSize)}kB`)) {
      out.problem(`linux.resources.hugepageLimits[${i}].pageSize: this host has no ${limit.pageSize} huge pages`);
    }
  }
  for (const name of Object.keys(spec.linux?.netDevices ?? {})) {
    if (!features?.netDevices?.enabled) {
      out.problem(`linux.netDevices: runts does not implement moving network devices`);
      break;
    }
    if (!existsSync(`/sys/class/net/${name}`)) {
      out.problem(`linux.netDevices.${name}: no such network device on this host`);
    }
  }
  for (const problem of memoryPolicyProblems(spec)) out.problem(problem.message.replace(/^config\.json: /, ''));
  if (spec.linux?.intelRdt) {
    const { mount, problem } = resctrlMount();
    if (problem !== undefined) out.problem(`linux.intelRdt: ${problem}`);
    else out.ok(`linux.intelRdt: resctrl is mounted on ${mount}`);
  }
  for (const key of Object.keys(spec.linux?.sysctl ?? {})) {
    if (!existsSync(`/proc/sys/${key.replace(/\./g, '/')}`)) {
      out.problem(`linux.sysctl["${key}"]: this kernel has no such sysctl`);
    }
  }
}

/** Whether checkpoint and restore can work here: what `criu check` says of this kernel. */
function checkCriu(out: Report): void {
  const problem = criuCheck();
  // the container runs either way: only checkpoint and restore need criu
  if (problem === undefined) out.ok('criu check passes: checkpoint and restore can be used');
  else out.warning(`checkpoint and restore cannot work here: criu check: ${problem}`);
}

export async function run(opts: { bundle: string }, globals: GlobalOptions, _name: string): Promise<number> {
  const bundle = resolve(opts.bundle);
  const out = new Report();
  let spec: Spec;
  try {
    spec = loadBundleConfig(bundle);
  } catch (err) {
    if (!(err instanceof RuntsErrors)) throw err;
    for (const e of err.errors) out.problem(e.message);
    out.print();
    return 1;
  }
  out.ok(`${bundle}/config.json is valid`);
  for (const p of findUnknownProperties(spec)) out.warning(`config.json: ${formatProblem(p)}`);
  checkNamespaces(spec, out);
  checkCgroups(spec, out, globals.systemdCgroup, rootlessOrNot(globals));
  checkRootless(spec, out, globals);
  checkCapabilities(spec, out);
  checkSecurity(spec, out);
  checkDevicesAndMounts(spec, out);
  checkCriu(out);
  out.print();
  return out.problems > 0 ? 1 : 0;
}
