import { statSync } from 'node:fs';
import { posix } from 'node:path';
import { RuntsError } from '../../errors.js';
import type { CgroupHost } from './host.js';

/**
 * `exec --cgroup`, as runc takes it: `PATH` (the only one given) puts the process in the
 * sub-cgroup PATH of the container's cgroup in every hierarchy; `CTRL[,CTRL…]:PATH` in the
 * named controllers' hierarchies only, the others keeping the container's own cgroup. On
 * cgroup2 a controller prefix names no hierarchy of its own: the path of any controller
 * the cgroup2 hierarchy holds applies there. The sub-cgroups must exist (as with runc,
 * exec makes none), and a path can never lead out of the container's cgroup: a `..`
 * component is refused before anything is resolved.
 */

interface SubPaths {
  /** The path for every hierarchy (a bare argument). */
  all?: string;
  byController: Map<string, string>;
}

function parse(args: readonly string[]): SubPaths {
  const out: SubPaths = { byController: new Map() };
  for (const arg of args) {
    const parts = arg.split(':');
    if (parts.length > 2) throw new RuntsError(`invalid --cgroup argument: ${arg}`);
    if (parts.length === 1) {
      if (args.length !== 1) throw new RuntsError(`invalid --cgroup argument: ${arg} (missing <controller>: prefix)`);
      out.all = checkPath(arg, arg);
      continue;
    }
    const [controllers, path] = parts;
    for (const c of controllers.split(',')) {
      if (c === '') throw new RuntsError(`invalid --cgroup argument: ${arg} (empty controller name)`);
      out.byController.set(c, checkPath(path, arg));
    }
  }
  return out;
}

function checkPath(path: string, arg: string): string {
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new RuntsError(`invalid --cgroup argument: ${arg} (a sub-cgroup path must not contain "..")`);
  if (parts.length === 0) throw new RuntsError(`invalid --cgroup argument: ${arg} (no sub-cgroup path)`);
  return parts.join('/');
}

/**
 * The cgroups an exec'd process joins with `--cgroup args`, one per hierarchy of the
 * container (`dirs`, as create made them), for the hierarchies `host` has.
 */
export function execSubCgroupDirs(dirs: readonly string[], args: readonly string[], host: CgroupHost): string[] {
  const subs = parse(args);
  if (dirs.length === 0) throw new RuntsError('--cgroup: the container has no cgroups');
  const used = new Set<string>();
  const result = dirs.map((dir) => {
    const h = host.hierarchies.find((x) => dir === x.mountPoint || dir.startsWith(`${x.mountPoint}/`));
    let sub = subs.all;
    if (h) {
      for (const c of h.controllers) {
        const path = subs.byController.get(c);
        if (path === undefined) continue;
        used.add(c);
        if (sub !== undefined && sub !== path) {
          throw new RuntsError(`--cgroup: controllers of one hierarchy (${h.controllers.join(',')}) given different paths: ${sub} and ${path}`);
        }
        sub = path;
      }
    }
    if (sub === undefined) return dir;
    const target = posix.join(dir, sub);
    // join() cannot climb out of dir without a "..", which parse() refused; this says so
    if (!target.startsWith(`${dir}/`)) throw new RuntsError(`--cgroup: ${sub} is not below the container's cgroup ${dir}`);
    let isDir = false;
    try {
      isDir = statSync(target).isDirectory();
    } catch {
      // missing
    }
    if (!isDir) throw new RuntsError(`--cgroup: the sub-cgroup ${target} does not exist`);
    return target;
  });
  for (const c of subs.byController.keys()) {
    if (!used.has(c)) throw new RuntsError(`--cgroup: the container has no cgroup with the controller ${c}`);
  }
  return result;
}
