import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * What the benchmark reads of the containers' cgroups, on either layout: cgroup v1 with one
 * mount per controller (this is what a hybrid host looks like once its cgroup2 mount is
 * hidden) or the unified cgroup v2 hierarchy.
 */
export type CgroupVersion = 'v1' | 'v2';

interface CgroupMount {
  mountPoint: string;
  fsType: string;
  superOptions: string[];
}

function cgroupMounts(): CgroupMount[] {
  const mounts: CgroupMount[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const [fsType, , superOptions = ''] = line.slice(sep + 3).split(' ');
    if (fsType !== 'cgroup' && fsType !== 'cgroup2') continue;
    mounts.push({ mountPoint: line.split(' ')[4], fsType, superOptions: superOptions.split(',') });
  }
  return mounts;
}

/** v2 when /sys/fs/cgroup is itself the unified hierarchy, v1 otherwise. */
export function cgroupVersion(): CgroupVersion {
  return existsSync('/sys/fs/cgroup/cgroup.controllers') ? 'v2' : 'v1';
}

/** The directory of `cgroupsPath` in the hierarchy that holds `controller`. */
function controllerDir(version: CgroupVersion, controller: 'memory' | 'pids', cgroupsPath: string): string | null {
  if (version === 'v2') return join('/sys/fs/cgroup', cgroupsPath);
  const mount = cgroupMounts().find((m) => m.fsType === 'cgroup' && m.superOptions.includes(controller));
  return mount ? join(mount.mountPoint, cgroupsPath) : null;
}

/** What is charged to a container's cgroup while it sits in `created`. */
export interface CreatedUsage {
  /** memory.usage_in_bytes (v1) or memory.current (v2). */
  memoryBytes: number;
  /** pids.current: tasks, so every thread counts. */
  tasks: number;
  processes: { pid: number; name: string; threads: number; rssKiB: number; peakRssKiB: number }[];
}

function readNumber(path: string): number {
  return Number(readFileSync(path, 'utf8').trim());
}

function processStatus(pid: number): CreatedUsage['processes'][number] | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const fields = new Map(
    text.split('\n').map((line) => {
      const colon = line.indexOf(':');
      return [line.slice(0, colon), line.slice(colon + 1).trim()] as const;
    }),
  );
  // VmRSS and VmHWM read like "9812 kB"; a zombie has neither.
  const num = (name: string): number => parseInt(fields.get(name) ?? '', 10) || 0;
  return {
    pid,
    name: fields.get('Name') ?? '',
    threads: num('Threads'),
    rssKiB: num('VmRSS'),
    peakRssKiB: num('VmHWM'),
  };
}

/** Reads the container's cgroup; null when the runtime did not create it where asked. */
export function readCreatedUsage(version: CgroupVersion, cgroupsPath: string): CreatedUsage | null {
  const memoryDir = controllerDir(version, 'memory', cgroupsPath);
  const pidsDir = controllerDir(version, 'pids', cgroupsPath);
  if (!memoryDir || !pidsDir || !existsSync(memoryDir) || !existsSync(pidsDir)) return null;
  const memoryFile = version === 'v2' ? 'memory.current' : 'memory.usage_in_bytes';
  const pids = readFileSync(join(pidsDir, 'cgroup.procs'), 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map(Number);
  return {
    memoryBytes: readNumber(join(memoryDir, memoryFile)),
    tasks: readNumber(join(pidsDir, 'pids.current')),
    processes: pids.map(processStatus).filter((p): p is NonNullable<typeof p> => p !== null),
  };
}

/**
 * The limit a container's cgroup holds: memory.limit_in_bytes (v1) or memory.max (v2) in
 * bytes, or pids.max; null when the cgroup is not there, and Infinity for "max".
 */
export function readLimit(version: CgroupVersion, kind: 'memory' | 'pids', cgroupsPath: string): number | null {
  const dir = controllerDir(version, kind, cgroupsPath);
  const file = kind === 'pids' ? 'pids.max' : version === 'v2' ? 'memory.max' : 'memory.limit_in_bytes';
  if (!dir || !existsSync(join(dir, file))) return null;
  const text = readFileSync(join(dir, file), 'utf8').trim();
  return text === 'max' ? Infinity : Number(text);
}

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Removes `relPath` and everything under it from every cgroup hierarchy, killing any
 * process still in it first. Returns the directories that could not be removed.
 * `reap` is called between attempts: a killed process that is our child leaves its
 * cgroup only once reaped.
 */
export function removeCgroupTree(relPath: string, reap: () => void): string[] {
  const left: string[] = [];
  for (const mount of cgroupMounts()) {
    const top = join(mount.mountPoint, relPath);
    if (!existsSync(top)) continue;
    const dirs: string[] = [];
    const walk = (dir: string): void => {
      dirs.push(dir);
      for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) walk(join(dir, e.name));
    };
    walk(top);
    for (const dir of dirs) {
      let procs: string[] = [];
      try {
        procs = readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter((l) => l !== '');
      } catch {
        continue;
      }
      for (const pid of procs) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    // Deepest first, since a cgroup with children cannot be removed.
    for (const dir of dirs.reverse()) {
      let removed = false;
      for (let attempt = 0; attempt < 50 && !removed; attempt++) {
        try {
          rmdirSync(dir);
          removed = true;
        } catch {
          reap();
          sleepMs(20);
        }
      }
      if (!removed) left.push(dir);
    }
  }
  return left;
}

/**
 * The memory a command costs beyond what other processes share with it: for each command
 * a fresh cgroup v1 memory cgroup, which the benchmark itself steps into just while it
 * starts the command, so that the command and everything it forks are charged to it, and
 * steps out of right after. Its memory.max_usage_in_bytes then holds the peak of what was
 * charged: anonymous memory, page cache the command brought in (not the pages of node or
 * libc that are cached already, which every process shares), and kernel memory such as
 * page tables. Charges stay where they were made when a process moves to another cgroup
 * (a container's init), so they count. Only one command may run at a time under it.
 */
export class ChargeProbe {
  private current: string | null = null;
  private count = 0;

  private constructor(
    private readonly dir: string,
    private readonly home: string,
  ) {}

  /** Probes under `relPath` in the v1 memory hierarchy; null on cgroup v2 or without one. */
  static open(version: CgroupVersion, relPath: string): ChargeProbe | null {
    if (version !== 'v1') return null;
    const mount = cgroupMounts().find((m) => m.fsType === 'cgroup' && m.superOptions.includes('memory'));
    const own = readFileSync('/proc/self/cgroup', 'utf8').split('\n').find((l) => l.split(':')[1]?.split(',').includes('memory'));
    if (!mount || !own) return null;
    const dir = join(mount.mountPoint, relPath);
    mkdirSync(dir, { recursive: true });
    return new ChargeProbe(dir, join(mount.mountPoint, own.slice(own.indexOf(':', own.indexOf(':') + 1) + 1)));
  }

  /** Moves this process into a new, empty cgroup: what it starts next is charged there. */
  enter(): void {
    this.current = join(this.dir, String(this.count++));
    mkdirSync(this.current);
    writeFileSync(join(this.current, 'cgroup.procs'), String(process.pid));
  }

  leave(): void {
    writeFileSync(join(this.home, 'cgroup.procs'), String(process.pid));
  }

  /** The last command's peak; its cgroup is removed unless a process is still in it. */
  peakKiB(): number {
    const dir = this.current!;
    const kib = Math.round(readNumber(join(dir, 'memory.max_usage_in_bytes')) / 1024);
    try {
      rmdirSync(dir);
    } catch {
      // a process left in it (a detached container's): removed with the benchmark's cgroups
    }
    return kib;
  }
}
