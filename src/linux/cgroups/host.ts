import { readFileSync } from 'node:fs';
import { RuntsError } from '../../errors.js';

/**
 * The cgroup hierarchies of this host as runts sees them: what is mounted where (from
 * /proc/self/mountinfo) and where runts itself sits in each (from /proc/self/cgroup).
 * A pure v2 host has one cgroup2 hierarchy; a v1 host one hierarchy per controller group;
 * a hybrid host both, with a cgroup2 mount (usually /sys/fs/cgroup/unified) that holds
 * the controllers no v1 hierarchy took (often none, here hugetlb).
 */

export interface Hierarchy {
  version: 1 | 2;
  /**
   * v1: the controllers bound to the hierarchy ("cpu", "cpuacct", "name=systemd");
   * v2: those the root's cgroup.controllers lists.
   */
  controllers: string[];
  mountPoint: string;
  /** The cgroup at the mount point (mountinfo's root field): "/" unless a subtree is mounted. */
  mountRoot: string;
  /** runts' own cgroup in this hierarchy. */
  own: string;
}

export interface CgroupHost {
  /** The cgroup2 hierarchy first, then the v1 ones in mount order. */
  hierarchies: Hierarchy[];
}

/** The v1 controllers the kernel knows; other cgroup mount options are flags. */
const V1_CONTROLLERS = new Set([
  'cpuset', 'cpu', 'cpuacct', 'blkio', 'memory', 'devices', 'freezer', 'net_cls', 'perf_event',
  'net_prio', 'hugetlb', 'pids', 'rdma', 'misc', 'debug',
]);

/** mountinfo escapes space, tab, newline and backslash as octal. */
function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

interface CgroupMount {
  version: 1 | 2;
  controllers: string[];
  mountPoint: string;
  mountRoot: string;
}

/** How /proc/self/cgroup names a hierarchy: its sorted controllers, "" for cgroup2. */
const hierarchyKey = (m: CgroupMount) => (m.version === 2 ? '' : [...m.controllers].sort().join(','));

const under = (path: string, dir: string) => path === dir || path.startsWith(dir === '/' ? '/' : `${dir}/`);

/** The visible cgroup mounts, one per hierarchy (the first, when it is mounted twice). */
function parseCgroupMounts(mountinfo: string): CgroupMount[] {
  let mounts: CgroupMount[] = [];
  for (const line of mountinfo.split('\n')) {
    const fields = line.split(' ');
    const dash = fields.indexOf('-');
    if (dash < 6) continue;
    const mountPoint = unescape(fields[4]);
    // A later mount on or above a cgroup mount hides it.
    mounts = mounts.filter((m) => !under(m.mountPoint, mountPoint));
    const fsType = fields[dash + 1];
    if (fsType !== 'cgroup' && fsType !== 'cgroup2') continue;
    const version = fsType === 'cgroup2' ? 2 : 1;
    const controllers = version === 1
      ? (fields[dash + 3] ?? '').split(',').filter((o) => V1_CONTROLLERS.has(o) || o.startsWith('name='))
      : [];
    mounts.push({ version, controllers, mountPoint, mountRoot: unescape(fields[3]) });
  }
  return mounts.filter((m, i) => mounts.findIndex((o) => hierarchyKey(o) === hierarchyKey(m)) === i);
}

/** /proc/<pid>/cgroup: "id:controllers:path" per hierarchy; the cgroup2 line has no controllers. */
function parseProcCgroup(text: string): Map<string, string> {
  const paths = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    paths.set(m[1] === '' ? '' : m[1].split(',').sort().join(','), m[2]);
  }
  return paths;
}

/**
 * The host from the text of mountinfo and /proc/self/cgroup; `v2Controllers` reads a
 * cgroup2 mount's cgroup.controllers (the tests pass a fake).
 */
export function parseCgroupHost(mountinfo: string, procCgroup: string, v2Controllers: (mountPoint: string) => string[]): CgroupHost {
  const own = parseProcCgroup(procCgroup);
  const hierarchies: Hierarchy[] = [];
  for (const m of parseCgroupMounts(mountinfo)) {
    const path = own.get(hierarchyKey(m));
    // not a hierarchy of this process's view
    if (path === undefined) continue;
    const controllers = m.version === 2 ? v2Controllers(m.mountPoint) : m.controllers;
    hierarchies.push({ ...m, controllers, own: path });
  }
  hierarchies.sort((a, b) => b.version - a.version);
  return { hierarchies };
}

function read(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw RuntsError.fromNode(`read ${path}`, err);
  }
}

export function readCgroupHost(): CgroupHost {
  return parseCgroupHost(read('/proc/self/mountinfo'), read('/proc/self/cgroup'), (mountPoint) =>
    read(`${mountPoint}/cgroup.controllers`).split(/\s+/).filter(Boolean));
}
