import type { Spec } from '../spec/types/config.js';
import { Emitter } from '../program/emit.js';
import type { Ptr } from '../program/program.js';
import { MSG_CGROUP, MSG_HOOKS, MSG_HOOKS_DONE, MSG_PID, MSG_READY, MSG_USERNS, RECORD_BYTES } from '../program/protocol.js';
import type { NamespacePlan } from '../linux/namespaces.js';
import { NAMESPACES } from '../linux/namespaces.js';
import { emitResetSignals } from '../linux/signals.js';
import { emitCoverRevealingMounts, emitEnterRoot, emitMounts, emitPrepareRoot, type MountSources } from '../linux/mounts.js';
import { emitMaskedPaths, emitReadonlyPaths } from '../linux/paths.js';
import { emitSysctl } from '../linux/sysctl.js';
import { emitDevices } from '../linux/devices.js';
import { emitConsole, type ConsoleFds } from '../linux/console.js';
import type { CapabilityPlan } from '../linux/capabilities.js';
import { emitContainerHooks } from '../linux/hooks.js';
import { emitEarlyAttributes } from '../linux/process-attributes.js';
import { emitSessionKeyring } from '../linux/keyring.js';
import {
  emitCloseInherited, emitCredentials, emitEnterCwd, emitExec, emitHideRuntimeArguments, emitLastAttributes, emitLookup, emitPassFds, record, type ArgumentArea,
} from './process-steps.js';
import { cgroupProcsFiles, emitJoinCgroups } from '../linux/cgroups/join.js';
import { AT_FDCWD, CLONE_NEWUSER, CLONE_PARENT, O_CLOEXEC, O_WRONLY, PR_SET_DUMPABLE } from '../sys/constants.js';

/**
 * The whole setup of a new container as one Program, run by two processes forked from the
 * runtime (see docs/design.md):
 *
 *  - the intermediate process joins and creates namespaces (a user namespace can only be
 *    made by a single-threaded process, which a forked child is), then clones the init
 *    with CLONE_PARENT, so init is the runtime's child and pid 1 of a new pid namespace,
 *    and exits;
 *  - the init builds the rootfs, switches to the container's user, tells the runtime it is
 *    ready and blocks on exec.fifo until `start` opens it, then execs the user's process.
 */

export interface InitOptions {
  spec: Spec;
  bundle: string;
  rootfs: string;
  namespaces: NamespacePlan;
  /** Open namespace files to join, in join order. */
  joinFds: { type: keyof typeof NAMESPACES; fd: number; configPath: string }[];
  /** The child's end of the socketpair to the runtime. */
  socketFd: number;
  /** The runtime is not root (rootless): it writes the id maps as the process's owner. */
  unprivileged?: boolean;
  /** The runtime itself runs in a user namespace other than the initial one. */
  runtimeInUserNamespace?: boolean;
  /** The container's state directory, open O_PATH: init opens exec.fifo through it. */
  stateDirFd: number;
  /** A free fd number for mount targets. */
  scratchFd: number;
  noPivot: boolean;
  /** Fds after stdio the process keeps: LISTEN_FDS plus --preserve-fds. */
  extraFds: number;
  capabilities: CapabilityPlan;
  /** Whether the init stops before pivot_root for the runtime to run hooks. */
  hooksHandshake: boolean;
  /** Read ends of the pipes holding each in-container hook's stdin (the state). */
  hookStdin: { createContainer: number[]; startContainer: number[] };
  /** The highest capability number this kernel knows. */
  lastCap: number;
  /**
   * The container's cgroups on the host, one per hierarchy: the intermediate joins them,
   * and a cgroup mount without a cgroup namespace binds them.
   */
  cgroupDirs?: string[];
  /** What a cgroup mount without a cgroup namespace binds, when not cgroupDirs (a rootless container's). */
  boundCgroupDirs?: string[];
  /** Whether the intermediate waits for the runtime to put it in the cgroups (systemd) first. */
  cgroupHandshake?: boolean;
  /** Fds of the detached mounts the runtime made (id-mapped, tmpcopyup), by index in mounts[]. */
  detached?: ReadonlyMap<number, number>;
  /** In a user namespace: the bind sources the runtime sends, and where the init keeps them. */
  mountSources?: MountSources;
  /** With process.terminal: where the pty master goes, and a free fd for the pty. */
  console?: ConsoleFds;
  /** The runtime's command line and environment, cleared in the setup processes. */
  argumentArea: ArgumentArea;
  /** The container id, when the init joins a new session keyring (no --no-new-keyring). */
  sessionKeyring?: string;
}

export interface InitProgram {
  emitter: Emitter;
  /** The record buffer for error reports (int32 index into the arena). */
  report: Ptr;
}

export function buildInit(o: InitOptions): InitProgram {
  const { spec } = o;
  const process = spec.process!;
  const e = new Emitter(o.scratchFd);
  const p = e.p;
  const report = record(e, 0);
  const sock = o.socketFd;

  // --- intermediate process ---
  emitResetSignals(e);
  emitCloseInherited(e, 3 + o.extraFds, [
    sock, o.stateDirFd, ...o.joinFds.map((j) => j.fd), ...o.hookStdin.createContainer, ...o.hookStdin.startContainer,
    ...(o.detached?.values() ?? []), ...(o.console ? [o.console.socket] : []),
  ]);
  emitHideRuntimeArguments(e, o.argumentArea);
  p.sys('prctl', [PR_SET_DUMPABLE, 0, 0, 0, 0], { what: 'make the setup process non-dumpable' });
  if (o.cgroupHandshake) {
    p.sys('write', [sock, record(e, MSG_CGROUP), RECORD_BYTES], { what: 'ask to be put in the container\'s cgroups' });
    p.sys('read', [sock, p.bytes(8), 1], { what: 'wait for the container\'s cgroups', configPath: 'linux.cgroupsPath' }, { nonzero: true });
  }
  emitJoinCgroups(e, spec, cgroupProcsFiles(o.cgroupDirs ?? []));
  emitEarlyAttributes(e, process);
  const joinUser = o.joinFds.find((j) => j.type === 'user');
  emitCoverRevealingMounts(e, spec, o.rootfs, o.noPivot, Boolean(joinUser) || o.namespaces.newUser);
  if (joinUser) {
    p.sys('setns', [joinUser.fd, CLONE_NEWUSER], { what: 'join user namespace', configPath: joinUser.configPath });
  } else if (o.namespaces.newUser) {
    const byte = p.bytes(8);
    p.sys('unshare', [CLONE_NEWUSER], { what: 'create user namespace', configPath: 'linux.namespaces' });
    // A non-dumpable process's /proc files are root's: an unprivileged runtime could not
    // open its uid_map. Dumpable only while it waits, as runc's rootless nsexec does;
    // nothing of the container runs in it yet.
    if (o.unprivileged) p.sys('prctl', [PR_SET_DUMPABLE, 1, 0, 0, 0], { what: 'let the runtime write the id maps' });
    p.sys('write', [sock, record(e, MSG_USERNS), RECORD_BYTES], { what: 'ask for id mappings' });
    p.sys('read', [sock, byte, 1], { what: 'wait for id mappings', configPath: 'linux.uidMappings' }, { nonzero: true });
    if (o.unprivileged) p.sys('prctl', [PR_SET_DUMPABLE, 0, 0, 0, 0], { what: 'make the setup process non-dumpable' });
  }
  if (joinUser || o.namespaces.newUser) {
    const step = { what: 'become root of the user namespace', configPath: 'linux.uidMappings' };
    p.sys('setresgid', [0, 0, 0], step);
    p.sys('setresuid', [0, 0, 0], step);
  }
  for (const j of o.joinFds) {
    if (j.type === 'user') continue;
    p.sys('setns', [j.fd, NAMESPACES[j.type].flag], { what: `join ${j.type} namespace`, configPath: j.configPath });
  }
  if (o.namespaces.unshareFlags) {
    p.sys('unshare', [o.namespaces.unshareFlags], { what: 'create namespaces', configPath: 'linux.namespaces' });
  }
  emitTimeOffsets(e, spec);

  // With CLONE_PARENT the kernel wants exit_signal 0: the init inherits ours (SIGCHLD).
  const cloneArgs = Buffer.alloc(64);
  cloneArgs.writeBigUInt64LE(BigInt(CLONE_PARENT), 0);
  const pid = p.reg('pid');
  const init = p.label('init');
  e.markForClone({ what: 'let the init have all of the setup process\'s memory' });
  p.sys('clone3', [p.bytes(cloneArgs), 64], { what: 'create the container init process' }, { save: pid });
  p.jumpIfZero(pid, init);
  const pidRecord = record(e, MSG_PID);
  p.store32(pidRecord, 1, pid);
  p.sys('write', [sock, pidRecord, RECORD_BYTES], { what: 'report the init pid' });
  p.sys('exit_group', [0], { what: 'intermediate process exit' });

  // --- container init ---
  p.place(init);
  p.sys('umask', [0], { what: 'clear umask for setup' });
  // As runc's init: a session of its own, not the caller's (CRIU dumps only a tree whose
  // sessions start inside it); with a terminal, the console makes that session.
  if (!o.console) p.sys('setsid', [], { what: 'start a session of the container\'s own' });
  if (o.sessionKeyring !== undefined) emitSessionKeyring(e, o.sessionKeyring, Boolean(joinUser) || o.namespaces.newUser, true);
  emitPrepareRoot(e, spec, o.rootfs);
  emitMounts(e, spec, o.bundle, { cgroupDirs: o.boundCgroupDirs ?? o.cgroupDirs, detached: o.detached, sources: o.mountSources, runtimeInUserNamespace: o.runtimeInUserNamespace });
  // runc's rule: in any user namespace, the runtime's own included (rootless Podman runs
  // the runtime in its own and may give the container no new one), devices are bound
  emitDevices(e, spec, Boolean(joinUser) || o.namespaces.newUser || o.runtimeInUserNamespace === true);
  if (o.console) emitConsole(e, process, o.console, true);
  if (o.hooksHandshake) {
    p.sys('write', [sock, record(e, MSG_HOOKS), RECORD_BYTES], { what: 'ask for the runtime hooks' });
    p.sys('read', [sock, p.bytes(8), 1], { what: 'wait for the runtime hooks', configPath: 'hooks' }, { nonzero: true });
  }
  emitContainerHooks(e, spec, 'createContainer', o.hookStdin.createContainer, { stateDirFd: o.stateDirFd });
  if (o.hookStdin.createContainer.length > 0) {
    p.sys('write', [sock, record(e, MSG_HOOKS_DONE), RECORD_BYTES], { what: 'report the createContainer hooks done' });
  }
  const cwd = process.cwd;
  e.mkdirAll(cwd, { what: `create working directory ${cwd}`, configPath: 'process.cwd' });
  emitEnterRoot(e, spec, o.noPivot);
  emitSysctl(e, spec);
  emitReadonlyPaths(e, spec);
  emitMaskedPaths(e, spec);
  if (spec.hostname !== undefined) {
    p.sys('sethostname', [e.str(spec.hostname), Buffer.byteLength(spec.hostname)], { what: 'set hostname', configPath: 'hostname' });
  }
  if (spec.domainname !== undefined) {
    p.sys('setdomainname', [e.str(spec.domainname), Buffer.byteLength(spec.domainname)], { what: 'set domainname', configPath: 'domainname' });
  }
  emitEnterCwd(e, cwd);
  const inUserNamespace = Boolean(joinUser) || o.namespaces.newUser;
  emitPassFds(e, o.extraFds);
  emitCredentials(e, spec, o.capabilities, o.lastCap, inUserNamespace, sock);
  const exe = emitLookup(e, process);
  emitLastAttributes(e, spec, sock);

  p.sys('write', [sock, record(e, MSG_READY), RECORD_BYTES], { what: 'report ready' });
  const fifo = p.reg('fifo');
  p.sys('openat', [o.stateDirFd, e.str('exec.fifo'), O_WRONLY | O_CLOEXEC], { what: 'wait for start' }, { save: fifo });
  // a failing startContainer hook answers start through exec.fifo instead of the byte
  emitContainerHooks(e, spec, 'startContainer', o.hookStdin.startContainer, { stateDirFd: o.stateDirFd, fifo });
  p.sys('write', [fifo, e.str('0'), 1], { what: 'acknowledge start' });
  p.reportOnStderr();
  p.sys('close', [fifo], { what: 'close exec.fifo' });

  emitExec(e, spec, exe);
  return { emitter: e, report };
}

/** Offsets of a new time namespace go in before its first process is created. */
function emitTimeOffsets(e: Emitter, spec: Spec): void {
  const offsets = spec.linux?.timeOffsets;
  if (!offsets || !Object.keys(offsets).length) return;
  const text = Object.entries(offsets)
    .map(([clock, o]) => `${clock} ${o?.secs ?? 0} ${o?.nanosecs ?? 0}`)
    .join('\n');
  const step = { what: 'set time namespace offsets', configPath: 'linux.timeOffsets' };
  const fd = e.p.reg('timens');
  e.p.sys('openat', [AT_FDCWD, e.str('/proc/self/timens_offsets'), O_WRONLY | O_CLOEXEC], step, { save: fd });
  e.p.sys('write', [fd, e.str(text), Buffer.byteLength(text)], step);
  e.p.sys('close', [fd], step);
}
