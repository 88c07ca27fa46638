import { existsSync, readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** One mounted cgroup hierarchy: where it is and, for cgroup v1, which controllers it holds. */
export interface Hierarchy {
  mountPoint: string;
  version: 1 | 2;
  controllers: string[];
}

/**
 * What this host can do, read once before the cases run. Cases use it to skip, with the
 * reason, what the host lacks; they never pass a check the host could not exercise.
 */
export interface HostFacts {
  /** 'v1' when cgroup v1 controllers are mounted (a hybrid host is 'v1'), 'v2' when /sys/fs/cgroup is cgroup2. */
  cgroupLayout: 'v1' | 'v2';
  hierarchies: Hierarchy[];
  /** Controllers a container's limits can be set with on this layout. */
  controllers: Set<string>;
  capBounding: bigint;
  capLastCap: number;
  apparmor: boolean;
  selinux: boolean;
  /** Huge page sizes as the spec writes them ("2MB"). */
  hugepageSizes: string[];
  /** A whole block device (major, minor) for per-device blkio limits. */
  blockDevice: { major: number; minor: number; name: string } | undefined;
  namespaces: Set<string>;
  oomScoreAdj: number;
}

interface MountInfo {
  mountPoint: string;
  fsType: string;
  superOptions: string[];
}

export function readMountInfo(pid: number | 'self' = 'self'): MountInfo[] {
  const text = readFileSync(`/proc/${pid}/mountinfo`, 'utf8');
  const mounts: MountInfo[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const [left, right] = line.split(' - ');
    const fields = left.split(' ');
    const rightFields = right.split(' ');
    mounts.push({
      mountPoint: unescapeMount(fields[4]),
      fsType: rightFields[0],
      superOptions: (rightFields[2] ?? '').split(','),
    });
  }
  return mounts;
}

export function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

const V1_CONTROLLERS = [
  'cpu',
  'cpuacct',
  'cpuset',
  'memory',
  'devices',
  'freezer',
  'net_cls',
  'net_prio',
  'blkio',
  'perf_event',
  'hugetlb',
  'pids',
  'rdma',
  'misc',
];

export function readHostFacts(): HostFacts {
  const mounts = readMountInfo();
  const hierarchies: Hierarchy[] = [];
  for (const m of mounts) {
    if (m.fsType === 'cgroup') {
      hierarchies.push({
        mountPoint: m.mountPoint,
        version: 1,
        controllers: m.superOptions.filter((o) => V1_CONTROLLERS.includes(o) || o.startsWith('name=')),
      });
    } else if (m.fsType === 'cgroup2') {
      const file = join(m.mountPoint, 'cgroup.controllers');
      const list = existsSync(file) ? readFileSync(file, 'utf8').trim() : '';
      hierarchies.push({ mountPoint: m.mountPoint, version: 2, controllers: list ? list.split(/\s+/) : [] });
    }
  }
  const rootIsV2 = hierarchies.some((h) => h.version === 2 && h.mountPoint === '/sys/fs/cgroup');
  const cgroupLayout = rootIsV2 ? 'v2' : 'v1';
  const controllers = new Set<string>();
  for (const h of hierarchies) {
    // On a hybrid host the runtimes use the v1 controllers; what the cgroup2 mount holds
    // there is not where a container's limits go.
    if ((cgroupLayout === 'v1') === (h.version === 1)) h.controllers.forEach((c) => controllers.add(c));
  }
  // cgroup v2 always has the cpu-weight and device (eBPF) controls, without listing them.
  if (cgroupLayout === 'v2') controllers.add('devices');

  const status = readFileSync('/proc/self/status', 'utf8');
  const capBnd = /CapBnd:\s*([0-9a-f]+)/.exec(status)?.[1] ?? '0';

  return {
    cgroupLayout,
    hierarchies,
    controllers,
    capBounding: BigInt(`0x${capBnd}`),
    capLastCap: Number(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8').trim()),
    apparmor: readOr('/sys/module/apparmor/parameters/enabled', 'N').trim() === 'Y',
    selinux: existsSync('/sys/fs/selinux/enforce'),
    hugepageSizes: hugepageSizes(),
    blockDevice: wholeBlockDevice(),
    namespaces: new Set(readdirSync('/proc/self/ns').filter((n) => !n.endsWith('_for_children'))),
    oomScoreAdj: Number(readFileSync('/proc/self/oom_score_adj', 'utf8').trim()),
  };
}

function readOr(path: string, fallback: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return fallback;
  }
}

function hugepageSizes(): string[] {
  const dir = '/sys/kernel/mm/hugepages';
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((d) => /^hugepages-(\d+)kB$/.exec(d))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => {
      const kb = Number(m[1]);
      if (kb % (1024 * 1024) === 0) return `${kb / (1024 * 1024)}GB`;
      if (kb % 1024 === 0) return `${kb / 1024}MB`;
      return `${kb}KB`;
    });
}

/** The disk under the root filesystem, or else the first whole disk the kernel lists. */
function wholeBlockDevice(): HostFacts['blockDevice'] {
  const disks: { major: number; minor: number; name: string }[] = [];
  for (const line of readOr('/proc/partitions', '').split('\n').slice(2)) {
    const [major, minor, , name] = line.trim().split(/\s+/);
    if (!name) continue;
    // Partitions have a "partition" file in sysfs; throttling rules want whole disks.
    if (existsSync(`/sys/class/block/${name}/partition`)) continue;
    if (name.startsWith('loop') || name.startsWith('ram')) continue;
    disks.push({ major: Number(major), minor: Number(minor), name });
  }
  const rootDev = statSync('/').dev;
  const rootMajor = Math.floor(rootDev / 256);
  return disks.find((d) => d.major === rootMajor) ?? disks[0];
}

export function hasCapability(host: HostFacts, cap: number): boolean {
  return ((host.capBounding >> BigInt(cap)) & 1n) === 1n;
}

export function nsInode(pid: number | 'self', type: string): string {
  return readlinkSync(`/proc/${pid}/ns/${type}`);
}

/** A process's state letter and start time from /proc/<pid>/stat, or undefined when it is gone. */
export function procStat(pid: number): { state: string; startTime: string } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses; the fields after its last ")" do not.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0], startTime: fields[19] };
  } catch {
    return undefined;
  }
}
