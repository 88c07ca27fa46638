import { posix } from 'node:path';
import type { Spec } from '../../spec/types/config.js';
import { RuntsError } from '../../errors.js';
import type { CgroupHost, Hierarchy } from './host.js';
import { resourceWrites, type CgroupWrite, type Locator } from './resources.js';
import { deviceRules, v1DeviceLine, type DeviceRule } from './devices.js';

/**
 * The container's cgroups as plain data: which directory in each hierarchy, which files
 * get which values, which controllers the cgroup2 parents must enable. Planning reads
 * nothing: the host comes in as a CgroupHost, so the unit tests use fake mount tables.
 * Every resource runts cannot apply on this host is an error here, before anything exists.
 */

export interface CgroupDir {
  hierarchy: Hierarchy;
  /** The container's cgroup on the host: the mount point joined with the cgroup path. */
  path: string;
}

export interface CgroupPlan {
  /** The cgroup2 directory first (when there is a cgroup2 hierarchy), then the v1 ones. */
  dirs: CgroupDir[];
  /** Controllers to enable in cgroup.subtree_control of every parent of the cgroup2 directory. */
  enable: { controller: string; configPath: string }[];
  writes: CgroupWrite[];
  /** Device rules for the eBPF filter of the cgroup2 directory, when v1 has no devices hierarchy. */
  deviceFilter?: { dir: string; rules: DeviceRule[] };
  /** Settings accepted but without effect on this host. */
  warnings: string[];
}

/** runc's CleanPath: ".." can never climb above the start of the path. */
function clean(p: string): string {
  return posix.join('/', p);
}

/**
 * The cgroup path inside `h`. An absolute cgroupsPath is taken from the hierarchy's root;
 * a relative one from runts' own cgroup, or on cgroup2 from its parent, as runc does: the
 * own cgroup holds processes, and a cgroup2 cgroup with processes cannot enable
 * controllers for its children. Without cgroupsPath the container id is the relative path.
 */
export function cgroupPath(h: Hierarchy, cgroupsPath: string | undefined, id: string): string {
  const given = cgroupsPath === undefined || cgroupsPath === '' ? id : cgroupsPath;
  if (clean(given) === '/') throw new RuntsError(`${JSON.stringify(given)} names no cgroup of its own`, { configPath: 'linux.cgroupsPath' });
  if (given.startsWith('/')) return clean(given);
  const base = h.version === 2 ? posix.dirname(h.own) : h.own;
  return posix.join(clean(base), clean(given));
}

/** The host directory of cgroup path `p` in `h`, through the mount of h's subtree. */
function hostDir(h: Hierarchy, p: string): string {
  const rel = posix.relative(h.mountRoot, p);
  if (rel === '' || rel.startsWith('..')) {
    throw new RuntsError(`cgroup ${p} is not below the cgroup mounted on ${h.mountPoint}`, { configPath: 'linux.cgroupsPath' });
  }
  return posix.join(h.mountPoint, rel);
}

/**
 * What a cgroup mount without a cgroup namespace binds in each hierarchy: the container's
 * cgroup where it has one (`made`), else the one its processes are in, the runtime's own
 * (a rootless container left out of that hierarchy), as runc binds the init's.
 */
export function boundCgroupDirs(plan: CgroupPlan, made: readonly string[]): string[] {
  return plan.dirs.flatMap((d) => {
    if (made.includes(d.path)) return [d.path];
    const rel = posix.relative(d.hierarchy.mountRoot, d.hierarchy.own);
    return rel.startsWith('..') ? [] : [posix.join(d.hierarchy.mountPoint, rel)];
  });
}

/**
 * `scopePath`: under the systemd driver, the scope's cgroup (systemd.ts), which then is
 * the container's cgroup in every hierarchy, in place of linux.cgroupsPath.
 */
export function planCgroups(spec: Spec, id: string, host: CgroupHost, scopePath?: string): CgroupPlan {
  if (host.hierarchies.length === 0) throw new RuntsError('no cgroup hierarchy is mounted on this host');
  const cgroupsPath = scopePath ?? spec.linux?.cgroupsPath;
  const dirs: CgroupDir[] = host.hierarchies.map((h) => ({ hierarchy: h, path: hostDir(h, cgroupPath(h, cgroupsPath, id)) }));
  const v2 = dirs.find((d) => d.hierarchy.version === 2);
  const hasV1 = dirs.some((d) => d.hierarchy.version === 1);
  const enable = new Map<string, string>();
  const fromV2 = (controller: string, configPath: string): string | undefined => {
    if (!v2?.hierarchy.controllers.includes(controller)) return undefined;
    if (!enable.has(controller)) enable.set(controller, configPath);
    return v2.path;
  };
  const where: Locator = {
    controller(v1Name, v2Name, configPath) {
      const v1 = dirs.find((d) => d.hierarchy.version === 1 && d.hierarchy.controllers.includes(v1Name));
      if (v1) return { dir: v1.path, v2: false };
      const dir = fromV2(v2Name, configPath);
      if (dir) return { dir, v2: true };
      if (hasV1) throw new RuntsError(`${v1Name} is not mounted on this host`, { configPath });
      throw new RuntsError(`this host's cgroup2 hierarchy has no ${v2Name} controller`, { configPath });
    },
    // runc refuses unified on any v1 host; on a hybrid one, the controllers cgroup2 holds are
    // cgroup v2 and their files can be written.
    unified(controller, configPath) {
      if (!v2) throw new RuntsError('cannot use unified on cgroup v1: this host has no cgroup2 hierarchy', { configPath });
      if (controller === 'cgroup') return v2.path;
      const dir = fromV2(controller, configPath);
      if (dir) return dir;
      if (dirs.some((d) => d.hierarchy.version === 1 && d.hierarchy.controllers.includes(controller))) {
        throw new RuntsError(`cannot use unified on cgroup v1: ${controller} is a cgroup v1 controller on this host`, { configPath });
      }
      throw new RuntsError(`this host's cgroup2 hierarchy has no ${controller} controller`, { configPath });
    },
  };
  const warnings: string[] = [];
  const resources = spec.linux?.resources;
  const writes = resources ? resourceWrites(resources, where, warnings) : [];

  // Every container gets device rules, as with runc: at least "deny all but the defaults".
  const rules = deviceRules(resources?.devices);
  let deviceFilter: CgroupPlan['deviceFilter'];
  const devicesV1 = dirs.find((d) => d.hierarchy.version === 1 && d.hierarchy.controllers.includes('devices'));
  if (devicesV1) {
    for (const r of rules) {
      const file = r.allow ? 'devices.allow' : 'devices.deny';
      writes.push({ dir: devicesV1.path, choices: [{ file, value: v1DeviceLine(r) }], configPath: r.configPath });
    }
  } else if (v2) {
    deviceFilter = { dir: v2.path, rules };
  } else if (resources?.devices?.length) {
    throw new RuntsError('devices is not mounted on this host', { configPath: 'linux.resources.devices' });
  }
  return {
    dirs,
    enable: [...enable].map(([controller, configPath]) => ({ controller, configPath })),
    writes,
    deviceFilter,
    warnings,
  };
}
