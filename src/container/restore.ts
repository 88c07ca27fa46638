import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readlinkSync, rmdirSync, rmSync, statSync } from 'node:fs';
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
import { EXTERNAL_NET_NS, bindMounts, mountPoint, restoreArgs, runCriuAsync, setupNamespacesScript, type CriuCommon } from '../linux/criu.js';
import { hooksOf, runHooks } from '../linux/hooks.js';
import type { Spec } from '../spec/types/config.js';
import { procStat } from './proc.js';
import { containerDir, makeContainerDir, newState, writeAtomic, writeCreating, writeState, type ContainerState } from './state.js';
import { withLock } from './lock.js';
import { CRIU_ROOT } from './restore-root.js';
import { CONSOLE, DESCRIPTORS, TTY_INFO, ensureDir } from './checkpoint.js';
import { connectConsoleSocket, openPty, sendMaster } from '../linux/console.js';
import * as log from '../log.js';

const SIGKILL = 9;

export interface RestoreOptions extends CriuCommon {
  bundle: string;
  pidFile?: string;
  systemdCgroup?: boolean;
  rootless?: boolean;
  /** --console-socket: where the master of a restored terminal goes. */
  consoleSocket?: string;
  /** Or a connected socket of the caller's (`restore` in the foreground). */
  consoleFd?: number;
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

/**
 * criu's key for the checkpointed container's terminal, if it had one: restore gives a new
 * pty under that key. A config and a checkpoint that disagree on the terminal are refused.
 */
function checkpointedTerminal(imagePath: string, terminal: boolean): string | undefined {
  const file = join(imagePath, TTY_INFO);
  let key: string | undefined;
  try {
    key = readFileSync(file, 'utf8').trim();
  } catch {
    // no terminal in the checkpoint
  }
  if (key !== undefined && !/^tty\[[0-9a-f]+:[0-9a-f]+\]$/.test(key)) throw new RuntsError(`${file}: not a terminal's key: ${JSON.stringify(key)}`);
  if (terminal && key === undefined) {
    throw new RuntsError(`the checkpoint in ${imagePath} is of a container without a terminal`, { configPath: 'process.terminal' });
  }
  if (!terminal && key !== undefined) {
    throw new RuntsError(`the checkpoint in ${imagePath} is of a container with a terminal`, { configPath: 'process.terminal' });
  }
  return key;
}

/**
 * The prestart and createRuntime hooks, run as runc runs them on restore: when criu has
 * made the restored tree's namespaces (its setup-namespaces action), with the restored
 * init's pid in the state. A failing hook makes criu fail; `failure` is the hook's error.
 */
function runtimeHooks(spec: Spec, id: string, bundle: string, dir: string): { script: { args: string[]; close: () => void }; failure: () => RuntsError | undefined } | undefined {
  if (hooksOf(spec, 'prestart').length + hooksOf(spec, 'createRuntime').length === 0) return undefined;
  let failure: RuntsError | undefined;
  const script = setupNamespacesScript(dir, (pid) => {
    const state = { ociVersion: spec.ociVersion, id, status: 'creating', pid, bundle, ...(spec.annotations ? { annotations: spec.annotations } : {}) };
    try {
      runHooks(spec, 'prestart', state);
      runHooks(spec, 'createRuntime', state);
      return true;
    } catch (err) {
      failure = err instanceof RuntsError ? err : RuntsError.fromNode('run the hooks', err);
      return false;
    }
  });
  return { script, failure: () => failure };
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
export async function restoreContainer(root: string, id: string, o: RestoreOptions): Promise<ContainerState> {
  const bundle = resolve(o.bundle);
  const spec = loadBundleConfig(bundle);
  if (o.rootless) throw new RuntsError('restore needs root: criu cannot restore a rootless container');
  if (o.systemdCgroup) throw new RuntsError('restore with --systemd-cgroup is not supported: use the cgroupfs driver');
  const terminal = spec.process?.terminal === true;
  if (terminal && o.consoleSocket === undefined && o.consoleFd === undefined) {
    throw new RuntsError('cannot allocate tty if runts will detach without setting console socket', { configPath: 'process.terminal' });
  }
  if (!terminal && o.consoleSocket !== undefined) {
    throw new RuntsError('cannot use console socket if runts will not detach or allocate tty');
  }
  // the restored processes would have to be put in the group one thread at a time, racing their forks
  if (spec.linux?.intelRdt) {
    throw new RuntsError('restore of a container with linux.intelRdt is not supported: criu does not restore resctrl groups', { configPath: 'linux.intelRdt' });
  }
  // an id in use is refused before the images are looked at (the mkdir below decides a race)
  if (existsSync(containerDir(root, id))) throw new RuntsError(`container with id exists: ${id}`);
  checkImages(o.imagePath);
  const inheritFds = inheritedPipes(o.imagePath);
  const tty = checkpointedTerminal(o.imagePath, terminal);
  const plan = planCgroups(spec, id, readCgroupHost());
  const rootfs = rootfsPath(spec, bundle);
  const dir = makeContainerDir(root, id);
  const made: { cgroups?: CgroupState; pid?: number; netNsFd?: number; consoleFd?: number; pty?: { master: number; slave: number } } = {};
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
    return await withLock(root, id, async () => {
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
      if (tty !== undefined) {
        if (o.consoleSocket !== undefined) made.consoleFd = connectConsoleSocket(o.consoleSocket);
        made.pty = openPty();
        // the dump left the terminal's bind on /dev/console to us: it shows the new pty
        external.push({ destination: CONSOLE, source: readlinkSync(`/proc/self/fd/${made.pty.slave}`) });
      }
      const ours = [
        ...inheritFds,
        ...(made.netNsFd !== undefined ? [{ fd: made.netNsFd, key: EXTERNAL_NET_NS }] : []),
        ...(made.pty && tty !== undefined ? [{ fd: made.pty.slave, key: tty }] : []),
      ];
      // our fds are criu's fds 3, 4, …
      const inherit = ours.map((f, i) => ({ fd: 3 + i, key: f.key }));
      const hooks = runtimeHooks(spec, id, bundle, dir);
      const args = [...restoreArgs({ ...o, root: criuRoot, pidFile, external, inheritFds: inherit }), ...cgroupRoots(plan), ...(hooks?.script.args ?? [])];
      try {
        await runCriuAsync('restore', args, join(o.workPath, 'restore.log'), ours.map((f) => f.fd));
      } catch (err) {
        // criu failed because a hook did: the hook's failure is the one to tell
        throw hooks?.failure() ?? err;
      } finally {
        hooks?.script.close();
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
      if (made.pty) sendMaster(made.consoleFd ?? o.consoleFd!, made.pty.master);
      const state = newState(spec, id, pid, stat.startTime, { bundle, rootfs }, made.cgroups);
      writeState(root, state);
      rmSync(pidFile, { force: true });
      if (o.pidFile !== undefined) writeAtomic(resolve(o.pidFile), String(pid));
      log.debug(`restored ${id}: init pid ${pid}`);
      return state;
    });
  } catch (err) {
    // as after a failed create-time hook, the lifecycle continues at its end
    if (err instanceof RuntsError && err.configPath?.startsWith('hooks.')) {
      runHooks(spec, 'poststop', { ociVersion: spec.ociVersion, id, status: 'stopped', bundle }, true);
    }
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
    for (const fd of [made.netNsFd, made.consoleFd, made.pty?.master, made.pty?.slave]) if (fd !== undefined) closeSync(fd);
  }
}
