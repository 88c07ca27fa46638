import { existsSync, readFileSync, readdirSync, rmdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Hierarchy, HostFacts } from './host.js';

interface Membership {
  hierarchy: Hierarchy;
  /** The cgroup path as /proc/<pid>/cgroup shows it, relative to the hierarchy's root. */
  path: string;
}

/** Where a process sits in each mounted hierarchy, from /proc/<pid>/cgroup. */
export function memberships(host: HostFacts, pid: number | 'self'): Membership[] {
  const out: Membership[] = [];
  for (const line of readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    const [, id, names, path] = m;
    const hierarchy =
      id === '0' && names === ''
        ? host.hierarchies.find((h) => h.version === 2)
        : host.hierarchies.find((h) => h.version === 1 && sameSet(h.controllers, names.split(',')));
    if (hierarchy) out.push({ hierarchy, path });
  }
  return out;
}

function sameSet(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

/**
 * Where a process sits for one controller (on cgroup v2, its single cgroup), or undefined
 * when it is in no hierarchy that holds that controller.
 */
function membershipFor(host: HostFacts, pid: number | 'self', controller: string): Membership | undefined {
  const wantV2 = host.cgroupLayout === 'v2';
  return memberships(host, pid).find((x) =>
    wantV2 ? x.hierarchy.version === 2 : x.hierarchy.version === 1 && x.hierarchy.controllers.includes(controller),
  );
}

/** The cgroup path of a process for one controller, as /proc/<pid>/cgroup shows it. */
export function cgroupPath(host: HostFacts, pid: number | 'self', controller: string): string | undefined {
  return membershipFor(host, pid, controller)?.path;
}

/** The directory on the host holding a process's cgroup files for one controller. */
export function cgroupDir(host: HostFacts, pid: number, controller: string): string | undefined {
  const m = membershipFor(host, pid, controller);
  return m ? join(m.hierarchy.mountPoint, m.path) : undefined;
}

/** The hierarchy directories a cgroupsPath names, for every hierarchy a runtime may use. */
export function hierarchyDirs(host: HostFacts, path: string): string[] {
  return host.hierarchies.map((h) => join(h.mountPoint, path));
}

export function readCgroupFile(dir: string, file: string): string | undefined {
  try {
    return readFileSync(join(dir, file), 'utf8').trim();
  } catch {
    return undefined;
  }
}

/**
 * Removes a cgroup tree the suite owns, deepest first, killing what still runs in it:
 * the end-of-run sweep that leaves no cgroup behind even when a runtime failed to clean.
 * Returns the directories it had to remove.
 */
export function removeTree(dir: string): string[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return [];
  const removed: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) removed.push(...removeTree(join(dir, entry.name)));
  }
  for (let attempt = 0; attempt < 50; attempt++) {
    for (const pid of readCgroupFile(dir, 'cgroup.procs')?.split('\n').filter(Boolean) ?? []) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // exited meanwhile
      }
    }
    try {
      rmdirSync(dir);
      removed.push(dir);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') break;
      // EBUSY while killed processes are still exiting: wait a little and retry.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    }
  }
  return removed;
}

/**
 * The places a runtime may put a cgroupsPath: under each hierarchy's root (absolute
 * paths) and under the suite's own cgroup (relative paths, which runtimes take relative
 * to their own cgroup).
 */
export function candidateDirs(host: HostFacts, name: string): string[] {
  const dirs = new Set<string>();
  for (const h of host.hierarchies) dirs.add(join(h.mountPoint, name));
  for (const m of memberships(host, 'self')) dirs.add(join(m.hierarchy.mountPoint, m.path, name));
  return [...dirs];
}

/** The mount point of the hierarchy holding `controller` (cgroup v1), or the unified root (v2). */
export function controllerRoot(host: HostFacts, controller: string): string | undefined {
  const h = host.hierarchies.find((x) =>
    host.cgroupLayout === 'v2' ? x.version === 2 : x.version === 1 && x.controllers.includes(controller),
  );
  return h?.mountPoint;
}

/** The cgroup v2 controller that does the work of a cgroup v1 one. */
export function v2Name(v1: string): string {
  return ({ blkio: 'io', cpuacct: 'cpu' } as Record<string, string>)[v1] ?? v1;
}
