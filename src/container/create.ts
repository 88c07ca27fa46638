import { chmodSync, closeSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { loadBundleConfig } from '../spec/validate.js';
import type { Process } from '../spec/types/config.js';
import { RuntsError } from '../errors.js';
import { libc } from '../sys/libc.js';
import { checkMountLabel, rootfsPath } from '../linux/mounts.js';
import { checkMountOptions } from '../linux/fs-context.js';
import { checkSysctl } from '../linux/sysctl.js';
import { checkMemoryPolicy } from '../linux/mempolicy.js';
import { checkNetDevices } from '../linux/netdevices.js';
import { applyIntelRdt, intelRdtPlan, joinIntelRdt, removeIntelRdt, type RdtState } from '../linux/intelrdt.js';
import { spawnInit } from '../setup/spawn.js';
import { reap } from '../sys/wait.js';
import { HOOK_STDERR, HOOK_TIMED_OUT, hookError, hookProblem, hooksOf, readHookStderr, runHooks } from '../linux/hooks.js';
import { ETIMEDOUT } from '../sys/errno.js';
import { connectConsoleSocket } from '../linux/console.js';
import { hostBounding, lastCap, planCapabilities, reportCapabilityPlan } from '../linux/capabilities.js';
import { checkLsm } from '../linux/process-attributes.js';
import { readCgroupHost } from '../linux/cgroups/host.js';
import { boundCgroupDirs, planCgroups } from '../linux/cgroups/plan.js';
import { createCgroups, plannedCgroups, removeCgroups, type CgroupState } from '../linux/cgroups/apply.js';
import { frozenCgroup } from '../linux/cgroups/freezer.js';
import { connectScope, resourceProperties, scopeProperties, startScope } from '../linux/cgroups/systemd.js';
import type { Bus } from '../sys/sdbus.js';
import { procStat } from './proc.js';
import { FIFO, makeContainerDir, newState, writeAtomic, writeCreating, writeState, type ContainerState } from './state.js';
import { withLock } from './lock.js';
import { checkPassedFds } from './passed-fds.js';
import * as log from '../log.js';

const SIGKILL = 9;

export interface CreateOptions {
  bundle: string;
  pidFile?: string;
  noPivot: boolean;
  preserveFds: number;
  /** --systemd-cgroup: the container's cgroup is a transient systemd scope (systemd.ts). */
  systemdCgroup?: boolean;
  /** --console-socket: where the pty master of a process.terminal container goes. */
  consoleSocket?: string;
  /** A connected socket for the pty master instead (`run` in the foreground relays it). */
  consoleFd?: number;
  /** --no-new-keyring: no session keyring of the container's own. */
  noNewKeyring?: boolean;
  /** --rootless (decided): only the cgroups the caller may make (rootless.ts). */
  rootless?: boolean;
}

/**
 * systemd's socket activation (sd_listen_fds(3)): the fds at 3 … 3+LISTEN_FDS-1, meant
 * for this process only when LISTEN_PID is its pid (a variable inherited from further up
 * names another process's fds), as runc reads them through go-systemd's activation.Files.
 */
function listenFds(env: NodeJS.ProcessEnv, pid: number): number {
  if (env.LISTEN_PID === undefined || !/^\d+$/.test(env.LISTEN_PID) || Number(env.LISTEN_PID) !== pid) return 0;
  const count = /^\d+$/.test(env.LISTEN_FDS ?? '') ? Number(env.LISTEN_FDS) : 0;
  return Number.isSafeInteger(count) ? count : 0;
}

/**
 * The process as the container runs it: with activated fds passed on, it is told of them
 * as runc tells it, `LISTEN_FDS=<n>` and `LISTEN_PID=1` after the config's env (1: the
 * pid the init has in a pid namespace of its own).
 */
function activatedProcess(proc: Process, listen: number): Process {
  if (listen === 0) return proc;
  return { ...proc, env: [...(proc.env ?? []), `LISTEN_FDS=${listen}`, 'LISTEN_PID=1'] };
}

/** Fds after stdio the container gets: systemd's LISTEN_FDS plus --preserve-fds. */
function extraFds(listen: number, preserveFds: number): number {
  checkPassedFds(listen + preserveFds, listen ? `LISTEN_FDS=${listen} and --preserve-fds ${preserveFds}` : `--preserve-fds ${preserveFds}`);
  return listen + preserveFds;
}

/** A pid file that could never be written fails create before anything is made. */
function checkPidFile(file: string): void {
  const isDir = (p: string) => {
    try {
      return statSync(p).isDirectory();
    } catch {
      return undefined;
    }
  };
  if (isDir(file)) throw new RuntsError(`pid file ${file} is a directory`);
  if (!isDir(dirname(file))) throw new RuntsError(`pid file ${file}: ${dirname(file)} is not a directory`);
}

/**
 * create: validate, build everything but the user's process, and return once the
 * container is `created`. On any failure nothing is left: no process, no state dir.
 */
export function createContainer(root: string, id: string, o: CreateOptions): ContainerState {
  const bundle = resolve(o.bundle);
  const spec = loadBundleConfig(bundle);
  if (!spec.process) throw new RuntsError('process is required to create a container', { configPath: 'process' });
  checkLsm(spec.process);
  checkSysctl(spec);
  checkMemoryPolicy(spec);
  checkNetDevices(spec);
  const rdtPlan = intelRdtPlan(spec, id, o.rootless === true);
  checkMountLabel(spec);
  checkMountOptions(spec);
  const capabilities = planCapabilities(spec.process.capabilities, hostBounding());
  reportCapabilityPlan(capabilities);
  const terminal = spec.process.terminal === true;
  if (terminal && o.consoleSocket === undefined && o.consoleFd === undefined) {
    throw new RuntsError('cannot allocate tty if runts will detach without setting console socket', { configPath: 'process.terminal' });
  }
  if (!terminal && o.consoleSocket !== undefined) {
    throw new RuntsError('cannot use console socket if runts will not detach or allocate tty');
  }
  // Planned before anything exists: a resource this host cannot apply fails here.
  const host = readCgroupHost();
  const cgroupVersion = host.hierarchies[0]?.version ?? 1;
  // in rootless mode the user's manager (its scope's cgroup is below the manager's own)
  const systemd = o.systemdCgroup
    ? connectScope(spec.linux?.cgroupsPath, id, o.rootless === true, cgroupVersion, host.hierarchies.every((h) => h.version === 2))
    : undefined;
  const scope = systemd?.scope;
  const cgroupPlan = planCgroups(spec, id, host, scope?.path);
  const frozen = frozenCgroup(cgroupPlan.dirs.map((d) => d.path));
  if (frozen !== undefined) {
    throw new RuntsError(`container's cgroup unexpectedly frozen: ${frozen}`, {
      configPath: spec.linux?.cgroupsPath === undefined ? undefined : 'linux.cgroupsPath',
    });
  }
  const listen = listenFds(process.env, process.pid);
  const extra = extraFds(listen, o.preserveFds);
  const launched = { ...spec, process: activatedProcess(spec.process, listen) };
  const pidFile = o.pidFile ? resolve(o.pidFile) : undefined;
  if (pidFile !== undefined) checkPidFile(pidFile);
  const made: { cgroups?: CgroupState; consoleFd?: number; pid?: number; bus?: Bus; rdt?: { state: RdtState; made: string[] } } = { bus: systemd?.bus };
  let placeInCgroups: ((pid: number) => void) | undefined;
  if (systemd) {
    const { bus, scope: unit, facts } = systemd;
    const resources = resourceProperties(spec.linux?.resources, facts);
    placeInCgroups = (pid) => {
      made.cgroups = plannedCgroups(cgroupPlan, unit);
      startScope(bus, unit, scopeProperties(unit, id, pid, resources, cgroupVersion));
      // rootless: the user's manager delegates some controllers only, and no device rules
      made.cgroups = createCgroups(cgroupPlan, unit, o.rootless);
    };
  }
  const dir = makeContainerDir(root, id);
  try {
    return withLock(root, id, () => {
      // before any cgroup or process exists: what delete --force removes if create dies
      writeCreating(root, id, { cgroups: plannedCgroups(cgroupPlan, scope) });
      const fifo = join(dir, FIFO);
      const sys = libc();
      if (sys.mkfifo(fifo, 0o622) < 0) throw new RuntsError(`mkfifo ${fifo}`, { errno: sys.errno() });
      // The init may have switched to an unprivileged user before it opens the fifo.
      chmodSync(fifo, 0o622);
      if (hooksOf(spec, 'createContainer').length + hooksOf(spec, 'startContainer').length > 0) {
        // and so when it gives a hook this file as stderr
        const stderr = join(dir, HOOK_STDERR);
        writeFileSync(stderr, '');
        chmodSync(stderr, 0o622);
      }
      const rootfs = rootfsPath(spec, bundle);
      // As runc's rootless manager: a cgroup the caller may not make is left out only when
      // the config names none; one it names must be made.
      if (!scope) made.cgroups = createCgroups(cgroupPlan, undefined, o.rootless && !spec.linux?.cgroupsPath);
      if (rdtPlan) {
        made.rdt = applyIntelRdt(rdtPlan);
        writeCreating(root, id, { cgroups: plannedCgroups(cgroupPlan, scope), intelRdt: made.rdt.made });
      }
      if (terminal && o.consoleSocket !== undefined) made.consoleFd = connectConsoleSocket(o.consoleSocket);
      const pid = (made.pid = spawnInit({
        id, spec: launched, bundle, rootfs, stateDir: dir, noPivot: o.noPivot, extraFds: extra,
        capabilities, lastCap: lastCap(), cgroupDirs: scope ? cgroupPlan.dirs.map((d) => d.path) : made.cgroups?.paths ?? [], placeInCgroups,
        boundCgroupDirs: scope ? undefined : boundCgroupDirs(cgroupPlan, made.cgroups?.paths ?? []),
        consoleFd: terminal ? made.consoleFd ?? o.consoleFd : undefined, newKeyring: !o.noNewKeyring,
      }));
      // config-linux.md: the container's pid in the group's tasks, before create returns
      if (made.rdt) joinIntelRdt(made.rdt.state, pid);
      const stat = procStat(pid);
      const state: ContainerState = {
        ...newState(spec, id, pid, stat?.startTime ?? '', { bundle, rootfs }, made.cgroups),
        ...(made.rdt ? { intelRdt: made.rdt.state } : {}),
        ...(o.noNewKeyring ? { noNewKeyring: true } : {}),
      };
      writeState(root, state);
      if (pidFile !== undefined) writeAtomic(pidFile, String(pid));
      log.debug(`created ${id}: init pid ${pid}`);
      return state;
    });
  } catch (caught) {
    let err = caught;
    const failedHook = err instanceof RuntsError ? /^hooks\.createContainer\[(\d+)\]$/.exec(err.configPath ?? '') : null;
    if (failedHook && err instanceof RuntsError && (err.errno === undefined || err.errno === ETIMEDOUT)) {
      const i = Number(failedHook[1]);
      const problem = err.errno === ETIMEDOUT ? hookProblem(spec, 'createContainer', i, HOOK_TIMED_OUT) : undefined;
      err = hookError(spec, 'createContainer', i, problem, readHookStderr(dir));
    }
    // A failing spawnInit has killed and reaped the container's processes; after it, the
    // init waits on exec.fifo and is a child of runts (CLONE_PARENT).
    if (made.pid !== undefined) {
      libc().kill(made.pid, SIGKILL);
      reap(made.pid);
    }
    if (made.cgroups) removeCgroups(made.cgroups);
    if (made.rdt) removeIntelRdt(made.rdt.made);
    rmSync(dir, { recursive: true, force: true });
    // A failed create-time hook continues the lifecycle at its end: the poststop hooks run.
    if (err instanceof RuntsError && err.configPath?.startsWith('hooks.')) {
      runHooks(spec, 'poststop', { ociVersion: spec.ociVersion, id, status: 'stopped', bundle }, true);
    }
    throw err;
  } finally {
    if (made.consoleFd !== undefined) closeSync(made.consoleFd);
    made.bus?.close();
  }
}
