import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { join, posix, resolve } from 'node:path';
import { loadBundleConfig } from '../spec/validate.js';
import { RuntsError } from '../errors.js';
import { libc } from '../sys/libc.js';
import { MNT_DETACH, MS_BIND, MS_REC } from '../sys/constants.js';
import { reap } from '../sys/wait.js';
import { bindSource, rootfsPath } from '../linux/mounts.js';
import { readCgroupHost } from '../linux/cgroups/host.js';
import { planCgroups, type CgroupPlan } from '../linux/cgroups/plan.js';
import { createCgroups, plannedCgroups, removeCgroups, type CgroupState } from '../linux/cgroups/apply.js';
import { EXTERNAL_NET_NS, bindMounts, mountPoint, restoreArgs, runCriu, type CriuCommon } from '../linux/criu.js';
import { procStat } from './proc.js';
import { containerDir, makeContainerDir, newState, writeAtomic, writeCreating, writeState, type ContainerState } from './state.js';
import { withLock } from './lock.js';
import { CRIU_ROOT } from './restore-root.js';
import { DESCRIPTORS, ensureDir } from './checkpoint.js';
import * as log from '../log.js';

const SIGKILL = 9;

export interface RestoreOptions extends CriuCommon {
  bundle: string;
  pidFile?: string;
  systemdCgroup?: boolean;
  rootless?: boolean;
}

const CRIU_PID = 'criu.pid';

/** What the images must hold: criu's inventory, written by every dump. */
function checkImages(imagePath: string): void {
  let isDir = false;
  try {
    isDir = statSync(imagePath).isDirectory();
  } catch {
    throw new RuntsError(`image path ${imagePath}: no such directory`);
  }
  if (!isDir) throw new RuntsError(`image path ${imagePath}: not a directory`);
  if (!existsSync(join(imagePath, 'inventory.img'))) {
    throw new RuntsError(`image path ${imagePath} holds no checkpoint (no inventory.img)`);
  }
}

/**
 * The dump's record of the init's stdio: each pipe is replaced by ours at the same fd, as
 * runc does, so that whoever restores gets the container's output.
 */
function inheritedPipes(imagePath: string): { fd: number; key: string }[] {
  const file = join(imagePath, DESCRIPTORS);
  if (!existsSync(file)) return [];
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw RuntsError.fromNode(`read ${file}`, err);
  }
  if (!Array.isArray(doc)) throw new RuntsError(`${file}: expected a list of descriptors`);
  return doc.flatMap((key, fd) => (typeof key === 'string' && key.startsWith('pipe:') && fd < 3 ? [{ fd, key }] : []));
}

/** criu's --cgroup-root for each hierarchy: the container's cgroup, as the hierarchy names it. */
function cgroupRoots(plan: CgroupPlan): string[] {
  return plan.dirs.flatMap((d) => {
    const path = posix.join(d.hierarchy.mountRoot, posix.relative(d.hierarchy.mountPoint, d.path));
    // cgroup2 is criu's default root; a v1 hierarchy is named by its controllers
    return d.hierarchy.version === 2 ? ['--cgroup-root', path] : ['--cgroup-root', `${d.hierarchy.controllers.join(',')}:${path}`];
  });
}

/**
 * restore: a new container `id` from the images of a checkpoint, on the bundle's config
 * and rootfs. Its cgroups are made as by create, the rootfs is bound where criu restores
 * the mount namespace from, and criu brings the process tree back as a child of runts.
 * On any failure nothing is left: no process, no cgroup, no mount, no state directory.
 */
export function restoreContainer(root: string, id: string, o: RestoreOptions): ContainerState {
  const bundle = resolve(o.bundle);
  const spec = loadBundleConfig(bundle);
  if (o.rootless) throw new RuntsError('restore needs root: criu cannot restore a rootless container');
  if (o.systemdCgroup) throw new RuntsError('restore with --systemd-cgroup is not supported: use the cgroupfs driver');
  if (spec.process?.terminal) {
    throw new RuntsError('restore of a container with a terminal is not supported', { configPath: 'process.terminal' });
  }
  // the restored processes would have to be put in the group one thread at a time, racing their forks
  if (spec.linux?.intelRdt) {
    throw new RuntsError('restore of a container with linux.intelRdt is not supported: criu does not restore resctrl groups', { configPath: 'linux.intelRdt' });
  }
  // an id in use is refused before the images are looked at (the mkdir below decides a race)
  if (existsSync(containerDir(root, id))) throw new RuntsError(`container with id exists: ${id}`);
  checkImages(o.imagePath);
  const inheritFds = inheritedPipes(o.imagePath);
  const plan = planCgroups(spec, id, readCgroupHost());
  const rootfs = rootfsPath(spec, bundle);
  const dir = makeContainerDir(root, id);
  const made: { cgroups?: CgroupState; pid?: number; netNsFd?: number } = {};
  const sys = libc();
  const criuRoot = join(dir, CRIU_ROOT);
  let mounted = false;
  const unbind = () => {
    if (!mounted) return;
    if (sys.umount2(criuRoot, MNT_DETACH) < 0) throw new RuntsError(`unmount ${criuRoot}`, { errno: sys.errno() });
    mounted = false;
    rmdirSync(criuRoot);
  };
  try {
    return withLock(root, id, () => {
      writeCreating(root, id, { cgroups: plannedCgroups(plan) });
      made.cgroups = createCgroups(plan);
      ensureDir(o.workPath, 'work path');
      // criu restores the mount namespace onto a mount point of its own
      mkdirSync(criuRoot);
      if (sys.mount(rootfs, criuRoot, null, MS_BIND | MS_REC, null) < 0) {
        throw new RuntsError(`bind the rootfs ${rootfs} onto ${criuRoot} for criu`, { errno: sys.errno() });
      }
      mounted = true;
      const pidFile = join(dir, CRIU_PID);
      const external = bindMounts(spec).map((m) => ({ destination: mountPoint(m.destination), source: bindSource(m, bundle) }));
      // the dump named the masked files; a key it did not use is left unused
      for (const p of spec.linux?.maskedPaths ?? []) external.push({ destination: mountPoint(p), source: '/dev/null' });
      // the network namespace the config joins is given back to criu for the dump's reference
      const netNs = spec.linux?.namespaces?.find((n) => n.type === 'network' && n.path);
      if (netNs?.path) {
        try {
          made.netNsFd = openSync(netNs.path, 'r');
        } catch (err) {
          throw RuntsError.fromNode(`open network namespace ${netNs.path}`, err, 'linux.namespaces');
        }
      }
      const ours = [...inheritFds, ...(made.netNsFd !== undefined ? [{ fd: made.netNsFd, key: EXTERNAL_NET_NS }] : [])];
      // our fds are criu's fds 3, 4, …
      const inherit = ours.map((f, i) => ({ fd: 3 + i, key: f.key }));
      const args = [...restoreArgs({ ...o, root: criuRoot, pidFile, external, inheritFds: inherit }), ...cgroupRoots(plan)];
      try {
        runCriu('restore', args, join(o.workPath, 'restore.log'), ours.map((f) => f.fd));
      } finally {
        // a restored tree holds its own copy of the mount in its namespace
        unbind();
      }
      let pid: number;
      try {
        pid = made.pid = Number.parseInt(readFileSync(pidFile, 'utf8'), 10);
      } catch (err) {
        throw RuntsError.fromNode('restore: read the pid criu wrote', err);
      }
      const stat = procStat(pid);
      if (!stat) throw new RuntsError(`restore: the restored init ${pid} is gone`);
      const state = newState(spec, id, pid, stat.startTime, { bundle, rootfs }, made.cgroups);
      writeState(root, state);
      rmSync(pidFile, { force: true });
      if (o.pidFile !== undefined) writeAtomic(resolve(o.pidFile), String(pid));
      log.debug(`restored ${id}: init pid ${pid}`);
      return state;
    });
  } catch (err) {
    if (made.pid !== undefined && made.pid > 0) {
      sys.kill(made.pid, SIGKILL);
      reap(made.pid);
    }
    if (made.cgroups) removeCgroups(made.cgroups);
    try {
      // never a recursive removal while the rootfs is bound inside the state directory
      unbind();
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // the rootfs stays bound there: the directory too, for delete --force
    }
    throw err;
  } finally {
    if (made.netNsFd !== undefined) closeSync(made.netNsFd);
  }
}
