import { existsSync, readFileSync, readdirSync, statfsSync } from 'node:fs';
import { release } from 'node:os';
import { resolve } from 'node:path';
import type { GlobalOptions } from './main.js';
import { RuntsErrors } from '../errors.js';
import { featuresDocument } from '../features.js';
import { writeStdout } from '../log.js';
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

const CGROUP2_SUPER_MAGIC = 0x63677270;
const TMPFS_MAGIC = 0x01021994;
/** mount_setattr(2) with MOUNT_ATTR_IDMAP appeared in Linux 5.12. */
const IDMAP_KERNEL: [number, number] = [5, 12];

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function fsType(path: string): number | undefined {
  try {
    return statfsSync(path).type;
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

interface CgroupHost {
  layout: 'v2' | 'v1' | 'hybrid' | 'none';
  controllers: Set<string>;
}

/**
 * The cgroup layout: cgroup2 mounted on /sys/fs/cgroup (v2); a tmpfs of v1 hierarchies
 * (v1), possibly with cgroup2 at /sys/fs/cgroup/unified (hybrid, controllers still v1).
 */
function cgroupHost(): CgroupHost {
  const root = fsType('/sys/fs/cgroup');
  if (root === CGROUP2_SUPER_MAGIC) {
    const list = (read('/sys/fs/cgroup/cgroup.controllers') ?? '').split(/\s+/).filter(Boolean);
    return { layout: 'v2', controllers: new Set(list) };
  }
  if (root !== TMPFS_MAGIC) return { layout: 'none', controllers: new Set() };
  // /proc/cgroups: subsys_name hierarchy num_cgroups enabled; hierarchy 0 means not on v1.
  const controllers = new Set<string>();
  for (const line of (read('/proc/cgroups') ?? '').split('\n')) {
    const [name, hierarchy, , enabled] = line.split(/\s+/);
    if (name && !name.startsWith('#') && hierarchy !== '0' && enabled === '1') controllers.add(name);
  }
  return { layout: fsType('/sys/fs/cgroup/unified') === CGROUP2_SUPER_MAGIC ? 'hybrid' : 'v1', controllers };
}

/** The controllers linux.resources needs, each with the config path that asks for it. */
function wantedControllers(spec: Spec, v2: boolean): Map<string, string> {
  const r = spec.linux?.resources;
  const want = new Map<string, string>();
  if (!r) return want;
  const need = (controller: string, path: string) => {
    if (!want.has(controller)) want.set(controller, path);
  };
  if (r.memory) need('memory', 'linux.resources.memory');
  if (r.cpu) {
    const { cpus, mems, ...rest } = r.cpu;
    if (Object.keys(rest).length > 0) need('cpu', 'linux.resources.cpu');
    if (cpus || mems) need('cpuset', 'linux.resources.cpu');
  }
  if (r.blockIO) need(v2 ? 'io' : 'blkio', 'linux.resources.blockIO');
  if (r.pids) need('pids', 'linux.resources.pids');
  if (r.hugepageLimits?.length) need('hugetlb', 'linux.resources.hugepageLimits');
  if (r.rdma && Object.keys(r.rdma).length > 0) need('rdma', 'linux.resources.rdma');
  if (r.network?.classID !== undefined) need('net_cls', 'linux.resources.network.classID');
  if (r.network?.priorities?.length) need('net_prio', 'linux.resources.network.priorities');
  if (r.devices?.length && !v2) need('devices', 'linux.resources.devices');
  if (v2) {
    for (const key of Object.keys(r.unified ?? {})) {
      const controller = key.split('.')[0];
      if (controller !== 'cgroup') need(controller, `linux.resources.unified["${key}"]`);
    }
  }
  return want;
}

function checkCgroups(spec: Spec, out: Report): void {
  const host = cgroupHost();
  const describe = {
    v2: 'v2 (cgroup2 on /sys/fs/cgroup)',
    v1: 'v1 (controller hierarchies on /sys/fs/cgroup)',
    hybrid: 'hybrid (v1 controllers, cgroup2 on /sys/fs/cgroup/unified)',
    none: 'none (nothing usable mounted on /sys/fs/cgroup)',
  }[host.layout];
  const features = featuresDocument().linux?.cgroup;
  const supported = host.layout === 'v2' ? features?.v2 : features?.v1;
  if (host.layout === 'none') {
    out.problem(`cgroup layout: ${describe}`);
    return;
  }
  if (supported) out.ok(`cgroup layout: ${describe}`);
  else out.problem(`cgroup layout: ${describe}, which runts does not implement`);

  const v2 = host.layout === 'v2';
  const r = spec.linux?.resources;
  if (!v2 && r?.unified && Object.keys(r.unified).length > 0) {
    out.problem('linux.resources.unified: needs a cgroup v2 host');
  }
  if (r?.rdma && Object.keys(r.rdma).length > 0 && !features?.rdma) {
    out.problem('linux.resources.rdma: runts does not implement the rdma controller');
  }
  const present: string[] = [];
  for (const [controller, path] of wantedControllers(spec, v2)) {
    if (host.controllers.has(controller)) present.push(controller);
    else out.problem(`${path}: this host has no ${controller} cgroup controller`);
  }
  if (present.length > 0) out.ok(`cgroup controllers: ${present.join(', ')}`);
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
      out.ok('AppArmor');
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
  if (spec.linux?.intelRdt) {
    const mounted = / - resctrl /.test(read('/proc/self/mountinfo') ?? '');
    if (!mounted) out.problem('linux.intelRdt: no resctrl filesystem is mounted');
    else if (!features?.intelRdt?.enabled) out.problem('linux.intelRdt: runts does not implement Intel RDT');
  }
  for (const key of Object.keys(spec.linux?.sysctl ?? {})) {
    if (!existsSync(`/proc/sys/${key.replace(/\./g, '/')}`)) {
      out.problem(`linux.sysctl["${key}"]: this kernel has no such sysctl`);
    }
  }
}

export async function run(opts: { bundle: string }, _globals: GlobalOptions, _name: string): Promise<number> {
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
  checkCgroups(spec, out);
  checkCapabilities(spec, out);
  checkSecurity(spec, out);
  checkDevicesAndMounts(spec, out);
  out.print();
  return out.problems > 0 ? 1 : 0;
}
