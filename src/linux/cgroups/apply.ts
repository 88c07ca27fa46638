import { existsSync, mkdirSync, readdirSync, rmdirSync } from 'node:fs';
import { posix } from 'node:path';
import { RuntsError, errnoName } from '../../errors.js';
import { libc } from '../../sys/libc.js';
import * as log from '../../log.js';
import type { CgroupDir, CgroupPlan } from './plan.js';
import type { CgroupWrite } from './resources.js';
import { attachDeviceFilter } from './bpf.js';
import { readText, sleep, writeFile } from './files.js';
import { stopScope, withManager, type SystemdScope } from './systemd.js';

/**
 * The effects of a CgroupPlan, run by the runtime before it forks the container's setup
 * processes: directories, controllers, limits. The setup's intermediate process then joins
 * the cgroups itself (join.ts), so the init is born inside them.
 */

export interface CgroupState {
  /** The container's cgroup in each hierarchy; the cgroup2 one first when there is one. */
  paths: string[];
  /** The directories create made, parents first: delete removes these and no others. */
  created: string[];
  /** Under --systemd-cgroup: the scope unit holding the container, which delete stops. */
  systemd?: SystemdScope;
}

/** The v1 controllers systemd manages (and so makes the scope's parents for); cgroup2 is all its. */
const SYSTEMD_V1 = new Set(['name=systemd', 'cpu', 'cpuacct', 'blkio', 'memory', 'devices', 'pids']);

/**
 * Under the systemd driver, systemd makes the scope's directory and its slices' in the
 * hierarchies it manages: the scope's directories are the container's, the slices are
 * systemd's and stay. Elsewhere, what create made is the container's, as with cgroupfs.
 */
function ownDirs(plan: CgroupPlan, created: string[], scope: SystemdScope | undefined): string[] {
  if (!scope) return created;
  const paths = plan.dirs.map((d) => d.path);
  const systemds = plan.dirs
    .filter((d) => d.hierarchy.version === 2 || d.hierarchy.controllers.some((c) => SYSTEMD_V1.has(c)))
    .map((d) => d.hierarchy.mountPoint);
  const bySystemd = (dir: string) => systemds.some((m) => dir.startsWith(`${m}/`));
  return [...created.filter((d) => !paths.includes(d) && !bySystemd(d)), ...paths];
}

const SIGKILL = 9;

/**
 * mkdir -p from the mount point down, noting what it made. A new v1 cpuset starts with no
 * cpus and no memory nodes, and no process may join it then: it gets its parent's.
 */
function makeDir(d: CgroupDir, created: string[]): void {
  const cpuset = d.hierarchy.version === 1 && d.hierarchy.controllers.includes('cpuset');
  let dir = d.hierarchy.mountPoint;
  for (const part of posix.relative(dir, d.path).split('/')) {
    const parent = dir;
    dir = posix.join(dir, part);
    try {
      mkdirSync(dir, { mode: 0o755 });
      created.push(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw RuntsError.fromNode(`create cgroup ${dir}`, err, 'linux.cgroupsPath');
    }
    if (!cpuset) continue;
    for (const file of ['cpuset.cpus', 'cpuset.mems']) {
      if (readText(posix.join(dir, file)).trim() !== '') continue;
      try {
        writeFile(posix.join(dir, file), readText(posix.join(parent, file)).trim());
      } catch (err) {
        throw RuntsError.fromNode(`copy ${file} of ${parent} to ${dir}`, err);
      }
    }
  }
}

/** Turns controllers on in cgroup.subtree_control from the hierarchy's root down to `dir`'s parent. */
function enableControllers(d: CgroupDir, wanted: CgroupPlan['enable']): void {
  const parts = posix.relative(d.hierarchy.mountPoint, d.path).split('/');
  let dir = d.hierarchy.mountPoint;
  for (const part of parts) {
    const file = posix.join(dir, 'cgroup.subtree_control');
    const on = new Set(readText(file).split(/\s+/));
    for (const { controller, configPath } of wanted) {
      if (on.has(controller)) continue;
      try {
        writeFile(file, `+${controller}`);
      } catch (err) {
        throw RuntsError.fromNode(`enable the ${controller} controller in ${file}`, err, configPath);
      }
    }
    dir = posix.join(dir, part);
  }
}

function applyWrite(w: CgroupWrite): void {
  const choice = w.choices.find((c) => existsSync(posix.join(w.dir, c.file)));
  if (!choice) {
    if (w.optional) return;
    const files = w.choices.map((c) => c.file).join(' or ');
    throw new RuntsError(`this host's cgroups have no ${files}`, { configPath: w.configPath });
  }
  const path = posix.join(w.dir, choice.file);
  try {
    writeFile(path, choice.value);
  } catch (err) {
    if (w.mayFail) return;
    throw RuntsError.fromNode(`write ${JSON.stringify(choice.value)} to ${path}`, err, w.configPath);
  }
}

function procs(dir: string): number[] {
  return readText(posix.join(dir, 'cgroup.procs')).split('\n').filter(Boolean).map(Number);
}

function subdirs(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => posix.join(dir, e.name));
  } catch {
    return [];
  }
}

/** Every process in `dir` and the cgroups below it (a container may make its own). */
function procsBelow(dir: string): number[] {
  return [...procs(dir), ...subdirs(dir).flatMap(procsBelow)];
}

/** The container's processes: those in its cgroup, wherever they went in their pid namespaces. */
export function cgroupPids(state: CgroupState): number[] {
  return [...new Set(procsBelow(state.paths[0]))];
}

/**
 * What createCgroups will make of `plan`, before it makes anything: the directories that
 * do not exist yet, parents first. Recorded first, it lets delete --force remove them (and
 * kill their processes) after a create that died on the way.
 */
export function plannedCgroups(plan: CgroupPlan, scope?: SystemdScope): CgroupState {
  const created: string[] = [];
  for (const d of plan.dirs) {
    let dir = d.hierarchy.mountPoint;
    for (const part of posix.relative(dir, d.path).split('/')) {
      dir = posix.join(dir, part);
      if (!existsSync(dir) && !created.includes(dir)) created.push(dir);
    }
  }
  return { paths: plan.dirs.map((d) => d.path), created: ownDirs(plan, created, scope), ...(scope ? { systemd: scope } : {}) };
}

/** Errors of a cgroup the caller was not given (runc's isIgnorableError in rootless mode). */
const NOT_GIVEN = new Set(['EACCES', 'EPERM', 'EROFS']);

function notGiven(err: unknown): boolean {
  if (err instanceof RuntsError) return err.errno !== undefined && NOT_GIVEN.has(errnoName(err.errno));
  return NOT_GIVEN.has((err as NodeJS.ErrnoException).code ?? '');
}

/**
 * Makes the container's cgroups and writes its limits. Under the systemd driver the scope
 * exists already (with the setup process in it): what is left is the hierarchies systemd
 * does not manage, and the files.
 *
 * `rootless`, as runc's rootless cgroup manager: a hierarchy whose cgroup the caller may
 * not make is left out (the container stays in the caller's cgroup there), device rules
 * that cannot be applied are dropped, and a limit for a left-out hierarchy is an error.
 * Undefined when no hierarchy is left.
 */
export function createCgroups(plan: CgroupPlan, scope?: SystemdScope, rootless = false): CgroupState | undefined {
  for (const w of plan.warnings) log.warn(w);
  const state: CgroupState = { paths: [], created: [], ...(scope ? { systemd: scope } : {}) };
  const left = new Set<string>();
  try {
    for (const d of plan.dirs) {
      try {
        makeDir(d, state.created);
        state.paths.push(d.path);
      } catch (err) {
        if (!rootless || !notGiven(err)) throw err;
        log.debug(`rootless: no cgroup in ${d.hierarchy.mountPoint} (${err instanceof Error ? err.message : String(err)})`);
        left.add(d.path);
      }
    }
    state.created = ownDirs(plan, state.created, scope);
    const v2 = plan.dirs.find((d) => d.hierarchy.version === 2 && !left.has(d.path));
    if (v2 && plan.enable.length > 0) enableControllers(v2, plan.enable);
    for (const w of plan.writes) {
      const devices = w.choices[0]?.file.startsWith('devices.');
      if (left.has(w.dir)) {
        if (devices) continue;
        const controller = w.choices[0]?.file.split('.')[0] ?? 'cgroup';
        throw new RuntsError(`cannot set ${controller} limit: rootless container could not join or create cgroup ${w.dir}`, { configPath: w.configPath });
      }
      try {
        applyWrite(w);
      } catch (err) {
        if (!(rootless && devices && notGiven(err))) throw err;
      }
    }
    if (plan.deviceFilter && !left.has(plan.deviceFilter.dir)) {
      try {
        attachDeviceFilter(plan.deviceFilter.dir, plan.deviceFilter.rules);
      } catch (err) {
        // runc's rootless manager ignores the devices controller: it is not expected to work
        if (!rootless || !notGiven(err)) throw err;
      }
    }
  } catch (err) {
    removeCgroups(state);
    throw err;
  }
  if (state.paths.length === 0) {
    removeCgroups(state);
    return undefined;
  }
  // One process sits in a cgroup of every hierarchy: count each once.
  if (scope) return state;
  const others = new Set(state.paths.filter((p) => !state.created.includes(p)).flatMap(procs)).size;
  if (others > 0) {
    log.warn(`the container joins a cgroup that already holds ${others} process(es): they share its limits and its kill --all`);
  }
  return state;
}

/** `update`: new limits written into the container's existing cgroups. */
export function updateCgroups(plan: CgroupPlan): void {
  for (const w of plan.warnings) log.warn(w);
  const v2 = plan.dirs.find((d) => d.hierarchy.version === 2);
  if (v2 && plan.enable.length > 0) enableControllers(v2, plan.enable);
  for (const w of plan.writes) applyWrite(w);
}

/**
 * rmdir, waiting while the cgroup is busy: processes killed a moment ago may still be
 * exiting. Gives up (false) after `ms`.
 */
function removeDir(dir: string, ms: number): boolean {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      rmdirSync(dir);
      return true;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return true;
      if (code !== 'EBUSY' || Date.now() > deadline) return false;
      sleep(10);
    }
  }
}

/** Removes a cgroup and the ones the container made below it, deepest first. */
function removeTree(dir: string): boolean {
  const ok = subdirs(dir).every(removeTree);
  return ok && removeDir(dir, 2000);
}

/** SIGKILL until the cgroups are empty: a process may fork while its siblings die. */
function killAll(dirs: string[]): void {
  const kill = posix.join(dirs[0], 'cgroup.kill');
  if (existsSync(kill)) {
    try {
      writeFile(kill, '1');
    } catch {
      // the loop below does the same
    }
  }
  const sys = libc();
  const deadline = Date.now() + 2000;
  for (;;) {
    const pids = new Set(dirs.flatMap(procsBelow));
    if (pids.size === 0 || Date.now() > deadline) return;
    for (const pid of pids) sys.kill(pid, SIGKILL);
    sleep(10);
  }
}

/**
 * Removes the directories create made. Processes still in the container's own cgroups are
 * killed first (those a container without its own pid namespace leaves behind, as runc
 * does); a parent that meanwhile holds other cgroups is someone else's too and stays.
 */
export function removeCgroups(state: CgroupState): void {
  const own = state.paths.filter((p) => state.created.includes(p));
  if (own.length > 0) killAll(own);
  if (state.systemd) {
    const scope = state.systemd;
    try {
      withManager(scope.manager, (bus) => stopScope(bus, scope));
    } catch (err) {
      log.warn(`systemd unit ${scope.unit} could not be stopped: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  for (const dir of [...state.created].reverse()) {
    const ok = own.includes(dir) ? removeTree(dir) : subdirs(dir).length > 0 || removeDir(dir, 2000);
    if (!ok) log.warn(`cgroup ${dir} could not be removed: it is still busy`);
  }
}
