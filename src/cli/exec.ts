import { closeSync } from 'node:fs';
import type { GlobalOptions } from './options.js';
import type { Process } from '../spec/types/config.js';
import { RuntsError, RuntsErrors } from '../errors.js';
import { execProcess } from '../container/exec.js';
import { readState } from '../container/state.js';
import { MAX_PRESERVE_FDS, parseCount } from './args.js';
import { CONFIG_LIMIT, formatProblem, parseJsonInput, processProblems } from '../spec/validate.js';
import { readInputFile } from '../sys/input-file.js';
import { waitForwarding } from './wait.js';
import { consolePair, relay } from './terminal.js';
import { connectConsoleSocket, receiveMaster } from '../linux/console.js';

interface ExecFlags {
  consoleSocket?: string;
  cwd?: string;
  env: string[];
  tty: boolean;
  user?: string;
  additionalGids: string[];
  process?: string;
  detach: boolean;
  pidFile?: string;
  processLabel?: string;
  apparmor?: string;
  /** false with --no-new-privs */
  newPrivs: boolean;
  cap: string[];
  preserveFds: string;
  cgroup: string[];
  ignorePaused: boolean;
}

/**
 * A process.json that names no LSM label runs with the container's, as with crun and
 * runc's libcontainer (runc 1.1.5 was seen to run it unconfined): an exec must not leave
 * the container's AppArmor confinement because its engine left the field out.
 */
function withContainerLabels(p: Process, base: Process): Process {
  const labelled = { ...p };
  if (!labelled.apparmorProfile && base.apparmorProfile) labelled.apparmorProfile = base.apparmorProfile;
  if (!labelled.selinuxLabel && base.selinuxLabel) labelled.selinuxLabel = base.selinuxLabel;
  return labelled;
}

function parseId(value: string, what: string): number {
  if (!/^\d+$/.test(value)) throw new RuntsError(`invalid ${what} ${JSON.stringify(value)}: expected a number`);
  return Number(value);
}

/**
 * The process to run, as runc builds it: a process.json given with -p, or the
 * container's own process with the command and the flags laid over it.
 */
function buildProcess(base: Process, command: string[], f: ExecFlags): Process {
  if (f.process) {
    const text = readInputFile(f.process, CONFIG_LIMIT);
    const doc = parseJsonInput(text, f.process);
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
      throw new RuntsError(`${f.process}: expected an object of config.json's process`);
    }
    const problems = processProblems(doc);
    if (problems.length > 0) throw new RuntsErrors(problems.map((p) => new RuntsError(`${f.process}: ${formatProblem(p)}`)));
    return withContainerLabels(doc as Process, base);
  }
  if (!command.length) throw new RuntsError('exec: a command is required (or --process)');
  const p: Process = { ...base, args: command, terminal: f.tty, env: [...(base.env ?? []), ...f.env] };
  delete p.consoleSize;
  if (f.cwd) p.cwd = f.cwd;
  if (f.user) {
    const [uid, gid] = f.user.split(':');
    p.user = { ...p.user, uid: parseId(uid, 'uid'), gid: gid === undefined ? 0 : parseId(gid, 'gid') };
  }
  if (f.additionalGids.length) p.user = { ...(p.user ?? { uid: 0, gid: 0 }), additionalGids: f.additionalGids.map((g) => parseId(g, 'gid')) };
  if (!f.newPrivs) p.noNewPrivileges = true;
  if (f.apparmor) p.apparmorProfile = f.apparmor;
  if (f.processLabel) p.selinuxLabel = f.processLabel;
  if (f.cap.length) {
    const add = (set: string[] | undefined) => [...new Set([...(set ?? []), ...f.cap])];
    const c = p.capabilities ?? {};
    p.capabilities = { ...c, bounding: add(c.bounding), effective: add(c.effective), permitted: add(c.permitted), ambient: add(c.ambient) };
  }
  return p;
}

export async function run(id: string, command: string[], flags: ExecFlags, g: GlobalOptions): Promise<number> {
  const extraFds = parseCount(flags.preserveFds, '--preserve-fds', MAX_PRESERVE_FDS);
  const state = readState(g.root, id);
  const process = buildProcess(state.config.process!, command, flags);
  const terminal = process.terminal === true;
  if (flags.consoleSocket !== undefined && !terminal) throw new RuntsError('cannot use console socket if runts will not detach or allocate tty');
  // As with run: in the foreground runts takes the pty master itself and relays it.
  const pair = terminal && flags.consoleSocket === undefined && !flags.detach ? consolePair() : undefined;
  const connected = terminal && flags.consoleSocket !== undefined ? connectConsoleSocket(flags.consoleSocket) : undefined;
  let pid: number;
  let master: number | undefined;
  try {
    pid = execProcess(g.root, id, process, {
      extraFds, pidFile: flags.pidFile, consoleFd: connected ?? pair?.theirs,
      ignorePaused: flags.ignorePaused, subCgroups: flags.cgroup,
    });
    if (pair) master = receiveMaster(pair.ours);
  } finally {
    for (const fd of [connected, pair?.ours, pair?.theirs]) if (fd !== undefined) closeSync(fd);
  }
  if (flags.detach) return 0;
  const exited = waitForwarding(pid);
  return master === undefined ? exited : relay(master, exited);
}
