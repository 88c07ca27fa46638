import { constants } from 'node:os';
import { closeSync, openSync, readdirSync, readFileSync, readSync, statSync, writeFileSync, writeSync } from 'node:fs';
import type { Spec, LinuxIDMapping } from '../spec/types/config.js';
import { RuntsError } from '../errors.js';
import { libc } from '../sys/libc.js';
import { fork } from '../sys/fork.js';
import { syscallNumber } from '../sys/syscalls.js';
import { AF_UNIX, O_CLOEXEC, O_DIRECTORY, O_PATH, O_RDONLY, SIGKILL, SOCK_CLOEXEC, SOCK_STREAM } from '../sys/constants.js';
import { NAMESPACES, planNamespaces, openNamespace } from '../linux/namespaces.js';
import { runningInUserNamespace } from '../linux/userns.js';
import { buildInit } from './build.js';
import { buildExec, type ExecOptions } from './build-exec.js';
import type { ArgumentArea } from './process-steps.js';
import { buildUserNamespaceHolder } from './build-userns.js';
import { openIdmappedMounts, planIdmappedMounts } from '../linux/idmap.js';
import { bindSourceMounts, sendMountSources } from '../linux/mounts.js';
import { makeCopiedUpTmpfs } from '../linux/tmpcopyup.js';
import { writeRootlessIdMaps } from '../linux/rootless-maps.js';
import type { Emitter } from '../program/emit.js';
import type { Linked, Ptr } from '../program/program.js';
import type { LinuxNamespaceType } from '../spec/types/config.js';
import { execute, warmExecutor } from '../program/executor.js';
import { MSG_CGROUP, MSG_ERROR, MSG_HOOKS, MSG_HOOKS_DONE, MSG_MOUNT_SOURCES, MSG_PID, MSG_READY, MSG_SECCOMP, MSG_USERNS, RECORD_BYTES } from '../program/protocol.js';
import { sendToListener, type ListenerState } from '../linux/seccomp.js';
import { moveNetDevices } from '../linux/netdevices.js';
import { hookAllowanceMs, hooksOf, runHooks } from '../linux/hooks.js';
import { readableBy, reap, seconds, setupTimeoutMs } from '../sys/wait.js';
import * as log from '../log.js';

/**
 * The runtime side of container creation: builds the setup program, forks the
 * intermediate process that runs it, answers its requests (id maps for a new user
 * namespace) and returns once the container init waits for `start`.
 */

import type { CapabilityPlan } from '../linux/capabilities.js';

export interface SpawnOptions {
  id: string;
  spec: Spec;
  bundle: string;
  rootfs: string;
  stateDir: string;
  noPivot: boolean;
  /** LISTEN_FDS plus --preserve-fds: fds after stdio passed to the process. */
  extraFds: number;
  capabilities: CapabilityPlan;
  lastCap: number;
  /** The container's cgroups on the host, one per hierarchy. */
  cgroupDirs: string[];
  /** What a cgroup mount without a cgroup namespace binds, when not cgroupDirs. */
  boundCgroupDirs?: string[];
  /**
   * Under a cgroup manager (systemd): puts the intermediate process (`pid`) in the
   * container's cgroups, which exist from then on; the process joins them after.
   */
  placeInCgroups?: (pid: number) => void;
  /** With process.terminal: the socket the pty master is sent over. */
  consoleFd?: number;
  /** Whether the init joins a new session keyring (create without --no-new-keyring). */
  newKeyring: boolean;
}

/** A free fd number well above the ones this process holds, for mount targets (the next one is free too). */
function scratchFd(): number {
  const used = readdirSync('/proc/self/fd').map(Number);
  return Math.max(...used) + 16;
}

/** This process's command line and environment strings (fields 48-51 of /proc/self/stat). */
function argumentArea(): ArgumentArea {
  const stat = readFileSync('/proc/self/stat', 'latin1');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // f[0] is field 3 (state)
  const field = (n: number) => BigInt(f[n - 3]);
  return { argStart: field(48), argEnd: field(49), envStart: field(50), envEnd: field(51) };
}

function idMap(mappings: LinuxIDMapping[] | undefined): string {
  return (mappings ?? []).map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join('');
}

/** A pipe whose read end the init inherits; the runtime writes a hook's stdin into the other. */
function hookPipe(fds: number[]): { read: number; write: number } {
  const sys = libc();
  const pair = Buffer.alloc(8);
  if (sys.pipe2(pair, O_CLOEXEC) < 0) throw new RuntsError('pipe2', { errno: sys.errno() });
  const read = pair.readInt32LE(0);
  const write = pair.readInt32LE(4);
  fds.push(read, write);
  return { read, write };
}

/**
 * Reads one record; false at end of file. Past `deadline` (a Date.now() time) it throws
 * `late()`: the caller's error naming what it waited for.
 */
function readRecord(fd: number, buf: Buffer, deadline: number, late: () => RuntsError): boolean {
  let got = 0;
  while (got < RECORD_BYTES) {
    if (!readableBy(fd, deadline)) throw late();
    const n = readSync(fd, buf, got, RECORD_BYTES - got, null);
    if (n === 0) return false;
    got += n;
  }
  return true;
}

/** Links a built program and forks the intermediate process that runs it. */
function launch(built: { emitter: Emitter; report: Ptr }, childEnd: number, name: string): { program: Linked; pid: number } {
  const sys = libc();
  const program = built.emitter.p.link(sys.address);
  log.debug(`${name} program: ${program.code.length} instructions, ${program.arena.length} bytes`);
  const ctx = {
    program,
    syscall: sys.syscall,
    errno: sys.errno,
    reportFd: childEnd,
    reportIndex: built.report.offset / 4,
    reportAddress: sys.address(program.arena) + BigInt(built.report.offset),
    writeNr: syscallNumber('write'),
    exitNr: syscallNumber('exit_group'),
  };
  warmExecutor();
  return { program, pid: fork(() => execute(ctx)) };
}

function socketPair(fds: number[]): { parentEnd: number; childEnd: number } {
  const sys = libc();
  const pair = Buffer.alloc(8);
  if (sys.socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0) {
    throw new RuntsError('socketpair', { errno: sys.errno() });
  }
  const parentEnd = pair.readInt32LE(0);
  const childEnd = pair.readInt32LE(4);
  fds.push(parentEnd);
  return { parentEnd, childEnd };
}

/** How a reaped process ended (a wait status), for an error message. */
function describeEnd(name: string, status: number): string {
  const signal = status & 0x7f;
  return signal === 0 ? `${name} exited with status ${(status >> 8) & 0xff}` : `${name} killed by ${signalName(signal)}`;
}

function signalName(n: number): string {
  return Object.entries(constants.signals).find(([, v]) => v === n)?.[0] ?? `signal ${n}`;
}

function failure(program: Linked, buf: Buffer): RuntsError {
  const a = buf.readInt32LE(4);
  const b = buf.readInt32LE(8);
  const step = program.steps[a] ?? { what: `setup step ${a}` };
  return new RuntsError(step.what, { errno: b === 0 ? undefined : b, configPath: step.configPath });
}

/** Creates the container's processes; returns the init's pid once it is ready. */
export function spawnInit(o: SpawnOptions): number {
  const sys = libc();
  const ns = planNamespaces(o.spec.linux?.namespaces);
  const fds: number[] = [];
  let intermediate = -1;
  let init = -1;
  try {
    const joinFds = ns.join.map((j) => {
      const fd = openNamespace(j.type, j.path, j.configPath);
      fds.push(fd);
      return { type: j.type, fd, configPath: j.configPath };
    });
    const detached = openIdmappedMounts(planIdmappedMounts(o.spec, o.bundle), userNamespace);
    fds.push(...detached.values());
    for (const [i, fd] of makeCopiedUpTmpfs(o.spec, o.rootfs)) {
      detached.set(i, fd);
      fds.push(fd);
    }
    const stateDirFd = openSync(o.stateDir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    fds.push(stateDirFd);
    const { parentEnd, childEnd } = socketPair(fds);

    const pipes = {
      createContainer: hooksOf(o.spec, 'createContainer').map(() => hookPipe(fds)),
      startContainer: hooksOf(o.spec, 'startContainer').map(() => hookPipe(fds)),
    };
    const runtimeHooks = hooksOf(o.spec, 'prestart').length + hooksOf(o.spec, 'createRuntime').length;
    const scratch = scratchFd();
    // after the scratch fd and the console's pty
    // A runtime that is not the host's root (unprivileged, or root of a user namespace)
    // may enter the init's mount namespace but not return to its own, and reaches no more
    // than the init can: the init binds the sources by path, with the caller's access.
    const unprivileged = process.geteuid!() !== 0;
    const runtimeInUserNamespace = runningInUserNamespace();
    const byPath = unprivileged || runtimeInUserNamespace;
    const sourceIndexes = !byPath && (ns.newUser || ns.join.some((j) => j.type === 'user')) ? bindSourceMounts(o.spec) : [];
    const mountSources = { socket: childEnd, fds: new Map(sourceIndexes.map((i, k) => [i, scratch + 2 + k])) };
    const built = buildInit({
      spec: o.spec, bundle: o.bundle, rootfs: o.rootfs, namespaces: ns, joinFds,
      socketFd: childEnd, stateDirFd, scratchFd: scratch, noPivot: o.noPivot, extraFds: o.extraFds,
      console: o.consoleFd === undefined ? undefined : { socket: o.consoleFd, tty: scratch + 1 },
      capabilities: o.capabilities, lastCap: o.lastCap, cgroupDirs: o.cgroupDirs, boundCgroupDirs: o.boundCgroupDirs, detached, mountSources,
      cgroupHandshake: o.placeInCgroups !== undefined,
      hooksHandshake: runtimeHooks + pipes.createContainer.length > 0, argumentArea: argumentArea(),
      sessionKeyring: o.newKeyring ? o.id : undefined, unprivileged, runtimeInUserNamespace,
      hookStdin: { createContainer: pipes.createContainer.map((h) => h.read), startContainer: pipes.startContainer.map((h) => h.read) },
    });
    const launched = launch(built, childEnd, 'init');
    const program = launched.program;
    intermediate = launched.pid;
    closeSync(childEnd);

    const buf = Buffer.alloc(RECORD_BYTES);
    // Each wait for the setup's next report has the bound; what the runtime does in
    // between (id maps, hooks of its own with their own timeouts) does not count.
    const bound = setupTimeoutMs();
    let allowed = bound;
    let deadline = Date.now() + allowed;
    const late = () => new RuntsError(`create: the container init did not report ready within ${seconds(allowed)}`);
    const answered = (extra = 0) => {
      allowed = bound + extra;
      deadline = Date.now() + allowed;
    };
    // Closed without a report: whether a signal (a crash, a kill from outside) or an exit
    // ended them says where to look. Reaped here, they are not killed again below.
    const howEnded = (): string => {
      const ends: string[] = [];
      const status = intermediate > 0 ? reap(intermediate, 500) : -1;
      if (status >= 0) {
        intermediate = -1;
        ends.push(describeEnd('setup process', status));
      }
      const initStatus = init > 0 ? reap(init, 500) : -1;
      if (initStatus >= 0) {
        init = -1;
        ends.push(describeEnd('init', initStatus));
      }
      return ends.length === 0 ? '' : ` (${ends.join(', ')})`;
    };
    const next = (): number => {
      if (!readRecord(parentEnd, buf, deadline, late)) throw new RuntsError(`container init exited before it was ready${howEnded()}`);
      const kind = buf.readInt32LE(0);
      if (kind === MSG_ERROR) throw failure(program, buf);
      if (kind === MSG_PID) init = buf.readInt32LE(4);
      return kind;
    };
    // The intermediate reports the init's pid and the init its progress, on one socket,
    // in no fixed order: a busy machine can run the init well ahead of its parent.
    const awaitPid = () => {
      while (init < 0) next();
    };
    // state.md: the pid as seen from the namespace the reader is in
    const state = (status: string, pid: number): ListenerState => ({
      ociVersion: o.spec.ociVersion, id: o.id, status, pid, bundle: o.bundle,
      ...(o.spec.annotations ? { annotations: o.spec.annotations as Record<string, string> } : {}),
    });
    // once the init is in its network namespace, before any hook and before start
    let devicesMoved = false;
    const moveDevices = () => {
      if (!devicesMoved) moveNetDevices(o.spec, init);
      devicesMoved = true;
    };
    for (;;) {
      const kind = next();
      if (kind === MSG_CGROUP) {
        o.placeInCgroups?.(intermediate);
        writeSync(parentEnd, Buffer.from([1]));
        answered();
      } else if (kind === MSG_USERNS) {
        writeIdMaps(intermediate, o.spec.linux?.uidMappings, o.spec.linux?.gidMappings, 'linux');
        writeSync(parentEnd, Buffer.from([1]));
        answered();
      } else if (kind === MSG_HOOKS) {
        awaitPid();
        moveDevices();
        runHooks(o.spec, 'prestart', state('creating', init));
        runHooks(o.spec, 'createRuntime', state('creating', init));
        const inside = namespacePid(init);
        // The state fits a pipe's buffer: write it whole, and the close gives the hook its EOF.
        for (const h of pipes.createContainer) writeSync(h.write, JSON.stringify(state('creating', inside)));
        for (const h of pipes.startContainer) writeSync(h.write, JSON.stringify(state('created', inside)));
        for (const h of [...pipes.createContainer, ...pipes.startContainer]) {
          closeSync(h.write);
          fds.splice(fds.indexOf(h.write), 1);
        }
        writeSync(parentEnd, Buffer.from([1]));
        // the init runs the createContainer hooks next, each bounded by its own timeout, and
        // reports when they are done
        answered(hookAllowanceMs(o.spec, 'createContainer'));
      } else if (kind === MSG_MOUNT_SOURCES) {
        awaitPid();
        sendMountSources(parentEnd, init, o.spec, o.bundle);
        answered();
      } else if (kind === MSG_SECCOMP) {
        awaitPid();
        sendToListener(o.spec, init, buf.readInt32LE(4), state('creating', init));
        writeSync(parentEnd, Buffer.from([1]));
        answered();
      } else if (kind === MSG_HOOKS_DONE) {
        answered();
      } else if (kind === MSG_READY) {
        awaitPid();
        moveDevices();
        break;
      }
    }
    reap(intermediate);
    return init;
  } catch (err) {
    // The intermediate too: past a deadline it may still be alive. Both are children not
    // yet reaped, so their pids cannot have been reused.
    for (const pid of [init, intermediate]) {
      if (pid > 0) {
        sys.kill(pid, SIGKILL);
        reap(pid);
      }
    }
    throw err;
  } finally {
    for (const fd of fds) closeSync(fd);
  }
}

export interface SpawnExecOptions extends Omit<ExecOptions, 'socketFd' | 'joinFds' | 'console' | 'argumentArea' | 'rootFd'> {
  /** With process.terminal: the socket the pty master is sent over. */
  consoleFd?: number;
  /** The container init's pid, whose namespaces the process joins. */
  initPid: number;
  /** The container's state, for a seccomp listener. */
  state: ListenerState;
  namespaces: LinuxNamespaceType[];
  /** exec --ignore-paused into a paused container: a process that joined it is frozen there. */
  paused?: boolean;
}

/**
 * Starts a process in a running container; returns its pid once it has exec'd. The init's
 * namespaces that are also this process's own are not joined (setns into one's own user
 * namespace fails).
 */
export function spawnExec(o: SpawnExecOptions): number {
  const sys = libc();
  const fds: number[] = [];
  let intermediate = -1;
  let pid = -1;
  try {
    const joinFds = planNamespaces(o.namespaces.map((type) => ({ type, path: `/proc/${o.initPid}/ns/${NAMESPACES[type].proc}` })))
      .join.filter((j) => statSync(j.path).ino !== statSync(`/proc/self/ns/${NAMESPACES[j.type].proc}`).ino)
      .map((j) => {
        const fd = openNamespace(j.type, j.path, j.configPath);
        fds.push(fd);
        return { type: j.type, fd };
      });
    let rootFd: number | undefined;
    if (!o.namespaces.includes('mount')) {
      rootFd = openSync(`/proc/${o.initPid}/root`, O_PATH | O_DIRECTORY | O_CLOEXEC);
      fds.push(rootFd);
    }
    const { parentEnd, childEnd } = socketPair(fds);
    const console = o.consoleFd === undefined ? undefined : { socket: o.consoleFd, tty: scratchFd() };
    const launched = launch(buildExec({ ...o, joinFds, socketFd: childEnd, console, rootFd, argumentArea: argumentArea() }), childEnd, 'exec');
    intermediate = launched.pid;
    closeSync(childEnd);
    const buf = Buffer.alloc(RECORD_BYTES);
    const bound = setupTimeoutMs();
    const deadline = Date.now() + bound;
    const frozen = o.paused ? ' in the paused container (killed, it ends once the container is resumed)' : '';
    const late = () => new RuntsError(`exec: the process did not start within ${seconds(bound)}${frozen}`);
    // The socket closes on the process's execve: end-of-file after its pid is success.
    // The process may speak before the intermediate has reported its pid.
    let listenerFd = -1;
    while (readRecord(parentEnd, buf, deadline, late)) {
      const kind = buf.readInt32LE(0);
      if (kind === MSG_PID) pid = buf.readInt32LE(4);
      else if (kind === MSG_ERROR) throw failure(launched.program, buf);
      else if (kind === MSG_SECCOMP) listenerFd = buf.readInt32LE(4);
      if (listenerFd >= 0 && pid > 0) {
        sendToListener(o.spec, pid, listenerFd, o.state);
        writeSync(parentEnd, Buffer.from([1]));
        listenerFd = -1;
      }
    }
    reap(intermediate);
    if (pid < 0) throw new RuntsError('the process exited before it was started');
    return pid;
  } catch (err) {
    for (const child of [pid, intermediate]) {
      if (child > 0) {
        sys.kill(child, SIGKILL);
        // frozen, it cannot die before the container is resumed: not worth waiting for
        reap(child, o.paused ? 100 : undefined);
      }
    }
    throw err;
  } finally {
    for (const fd of fds) closeSync(fd);
  }
}

/** A process's pid in its own pid namespace: the last of NSpid in /proc/<pid>/status. */
function namespacePid(pid: number): number {
  const m = /^NSpid:\s*(.*)$/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
  return m ? Number(m[1].trim().split(/\s+/).pop()) : pid;
}

/** Writes a user namespace's maps; `owner` is the config path holding the mappings ("linux", "mounts[2]"). */
function writeIdMaps(pid: number, uidMappings: LinuxIDMapping[] | undefined, gidMappings: LinuxIDMapping[] | undefined, owner: string): void {
  const euid = process.geteuid!();
  if (euid !== 0) return writeRootlessIdMaps(pid, uidMappings, gidMappings, owner, euid, process.getegid!());
  try {
    writeFileSync(`/proc/${pid}/uid_map`, idMap(uidMappings));
  } catch (err) {
    throw RuntsError.fromNode('write uid_map', err, `${owner}.uidMappings`);
  }
  try {
    writeFileSync(`/proc/${pid}/gid_map`, idMap(gidMappings));
  } catch (err) {
    throw RuntsError.fromNode('write gid_map', err, `${owner}.gidMappings`);
  }
}

/**
 * A new user namespace with these mappings, as an open fd: a forked process makes it, the
 * runtime writes its maps and opens it, then lets the process exit.
 */
function userNamespace(uidMappings: LinuxIDMapping[], gidMappings: LinuxIDMapping[], owner: string): number {
  const sys = libc();
  const fds: number[] = [];
  let pid = -1;
  try {
    const { parentEnd, childEnd } = socketPair(fds);
    const launched = launch(buildUserNamespaceHolder(childEnd), childEnd, 'user namespace');
    pid = launched.pid;
    closeSync(childEnd);
    const buf = Buffer.alloc(RECORD_BYTES);
    const bound = setupTimeoutMs();
    const late = () => new RuntsError(`the process making a user namespace for ${owner} did not report within ${seconds(bound)}`);
    if (!readRecord(parentEnd, buf, Date.now() + bound, late)) throw new RuntsError('the user namespace process exited early');
    if (buf.readInt32LE(0) === MSG_ERROR) throw failure(launched.program, buf);
    writeIdMaps(pid, uidMappings, gidMappings, owner);
    const fd = openSync(`/proc/${pid}/ns/user`, O_RDONLY | O_CLOEXEC);
    writeSync(parentEnd, Buffer.from([1]));
    return fd;
  } finally {
    // Closing the socket ends the process's wait when it was not answered.
    for (const fd of fds) closeSync(fd);
    if (pid > 0 && reap(pid, 1000) === -1) {
      sys.kill(pid, SIGKILL);
      reap(pid);
    }
  }
}
