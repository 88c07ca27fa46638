import { isAbsolute } from 'node:path';
import type { Process } from '../spec/types/config.js';
import { RuntsError } from '../errors.js';
import { readState, statusOf, writeAtomic } from './state.js';
import { spawnExec } from '../setup/spawn.js';
import { hostBounding, lastCap, planCapabilities, reportCapabilityPlan } from '../linux/capabilities.js';
import { checkLsm } from '../linux/process-attributes.js';
import { cgroupProcsFiles, execCgroupDirs } from '../linux/cgroups/join.js';
import { execSubCgroupDirs } from '../linux/cgroups/exec-sub.js';
import { readCgroupHost } from '../linux/cgroups/host.js';
import * as log from '../log.js';
import { checkPassedFds } from './passed-fds.js';
import { execArgumentsProblem } from '../spec/exec-args.js';

export interface ExecOptions {
  extraFds: number;
  pidFile?: string;
  /** With process.terminal: the socket the pty master is sent over. */
  consoleFd?: number;
  /**
   * --ignore-paused: exec in a paused container too. As with runc, the process joins the
   * frozen cgroups and freezes there: exec returns once the container is resumed, or fails
   * at the setup bound (the process, killed, ends when it is resumed).
   */
  ignorePaused?: boolean;
  /** --cgroup: sub-cgroups of the container's to run the process in (`PATH` or `CTRL[,CTRL]:PATH`). */
  subCgroups?: string[];
}

/**
 * exec: a new process in a created or running container, in all of its namespaces and
 * cgroups. Returns the process's pid once it has exec'd.
 */
export function execProcess(root: string, id: string, process: Process, o: ExecOptions): number {
  const state = readState(root, id);
  const status = statusOf(root, state);
  if (status === 'stopped') throw new RuntsError('cannot exec in a stopped container');
  if (status === 'paused' && !o.ignorePaused) throw new RuntsError('cannot exec in a paused container (use --ignore-paused to override)');
  if (!process.args?.length) throw new RuntsError('process.args must not be empty', { configPath: 'process.args' });
  if (!isAbsolute(process.cwd)) throw new RuntsError(`cwd ${process.cwd} must be an absolute path`, { configPath: 'process.cwd' });
  if (process.terminal && o.consoleFd === undefined) {
    throw new RuntsError('cannot allocate tty if runts will detach without setting console socket', { configPath: 'process.terminal' });
  }
  // before anything is made: past execve's limits the process would fail only at its execve
  const tooLarge = execArgumentsProblem(process as unknown as Record<string, unknown>);
  if (tooLarge) throw new RuntsError(`${tooLarge.path}: ${tooLarge.message}`);
  checkLsm(process);
  checkPassedFds(o.extraFds, `--preserve-fds ${o.extraFds}`);
  const capabilities = planCapabilities(process.capabilities, hostBounding());
  reportCapabilityPlan(capabilities);
  const cgroupDirs = state.cgroups?.paths ?? [];
  const joined = o.subCgroups?.length ? execSubCgroupDirs(cgroupDirs, o.subCgroups, readCgroupHost()) : execCgroupDirs(cgroupDirs, state.pid);
  const pid = spawnExec({
    spec: { ...state.config, process },
    initPid: state.pid,
    state: {
      ociVersion: state.ociVersion, id, status, pid: state.pid, bundle: state.bundle,
      ...(state.annotations ? { annotations: state.annotations } : {}),
    },
    namespaces: (state.config.linux?.namespaces ?? []).map((n) => n.type),
    extraFds: o.extraFds,
    capabilities,
    lastCap: lastCap(),
    cgroupProcs: cgroupProcsFiles(joined),
    rdtTasks: state.intelRdt?.tasks,
    rootless: globalThis.process.geteuid!() !== 0 || state.cgroups?.systemd?.manager === 'user',
    consoleFd: process.terminal ? o.consoleFd : undefined,
    sessionKeyring: state.noNewKeyring ? undefined : id,
    paused: status === 'paused',
  });
  if (o.pidFile) writeAtomic(o.pidFile, String(pid));
  return pid;
}
