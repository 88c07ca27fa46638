import type { Spec } from '../spec/types/config.js';
import { Emitter } from '../program/emit.js';
import type { Ptr } from '../program/program.js';
import { MSG_PID, RECORD_BYTES } from '../program/protocol.js';
import { NAMESPACES } from '../linux/namespaces.js';
import type { LinuxNamespaceType } from '../spec/types/config.js';
import { emitResetSignals } from '../linux/signals.js';
import { emitJoinCgroups } from '../linux/cgroups/join.js';
import { emitJoinIntelRdt } from '../linux/intelrdt.js';
import type { CapabilityPlan } from '../linux/capabilities.js';
import {
  emitCloseInherited, emitCredentials, emitEnterCwd, emitExec, emitHideRuntimeArguments, emitLastAttributes, emitLookup, emitPassFds, record, type ArgumentArea,
} from './process-steps.js';
import { CLONE_PARENT, PR_SET_DUMPABLE } from '../sys/constants.js';
import { emitConsole, type ConsoleFds } from '../linux/console.js';
import { emitSessionKeyring } from '../linux/keyring.js';

/**
 * The program of `runts exec`: a new process in a running container. The intermediate
 * process joins the init's cgroups and namespaces (user first, mount last), clones the
 * process with CLONE_PARENT — inside the container's pid namespace — and exits; the
 * process takes its credentials and execs. No message says it exec'd: the socket is
 * close-on-exec, so the runtime reads end-of-file.
 */

export interface ExecOptions {
  /** The container's config with `process` replaced by the process to start. */
  spec: Spec;
  /** The init's namespaces to join, in join order. */
  joinFds: { type: LinuxNamespaceType; fd: number }[];
  socketFd: number;
  extraFds: number;
  capabilities: CapabilityPlan;
  lastCap: number;
  cgroupProcs: string[];
  /** The runtime is rootless: a cgroup it may not move the process into is not joined (join.ts). */
  rootless?: boolean;
  /** linux.intelRdt: the tasks files of the container's resctrl groups. */
  rdtTasks?: string[];
  /** With process.terminal: where the pty master goes, and a free fd for the pty. */
  console?: ConsoleFds;
  /** The runtime's command line and environment, cleared in the setup processes. */
  argumentArea: ArgumentArea;
  /** The init's root, open: a container without a mount namespace of its own has only a chroot. */
  rootFd?: number;
  /** The container id, when the container has a session keyring of its own to join. */
  sessionKeyring?: string;
}

export function buildExec(o: ExecOptions): { emitter: Emitter; report: Ptr } {
  const e = new Emitter(-1);
  const p = e.p;
  const report = record(e, 0);
  emitResetSignals(e);
  emitCloseInherited(e, 3 + o.extraFds, [o.socketFd, ...o.joinFds.map((j) => j.fd), ...(o.console ? [o.console.socket] : []), ...(o.rootFd === undefined ? [] : [o.rootFd])]);
  emitHideRuntimeArguments(e, o.argumentArea);
  p.sys('prctl', [PR_SET_DUMPABLE, 0, 0, 0, 0], { what: 'make the setup process non-dumpable' });
  emitJoinCgroups(e, o.spec, o.cgroupProcs, o.rootless);
  emitJoinIntelRdt(e, o.rdtTasks ?? []);
  for (const j of o.joinFds) {
    p.sys('setns', [j.fd, NAMESPACES[j.type].flag], { what: `join the container's ${j.type} namespace` });
  }
  const cloneArgs = Buffer.alloc(64);
  cloneArgs.writeBigUInt64LE(BigInt(CLONE_PARENT), 0);
  const pid = p.reg('pid');
  const child = p.label('process');
  e.markForClone({ what: 'let the process have all of the setup process\'s memory' });
  p.sys('clone3', [p.bytes(cloneArgs), 64], { what: 'create the process' }, { save: pid });
  p.jumpIfZero(pid, child);
  const pidRecord = record(e, MSG_PID);
  p.store32(pidRecord, 1, pid);
  p.sys('write', [o.socketFd, pidRecord, RECORD_BYTES], { what: 'report the process pid' });
  p.sys('exit_group', [0], { what: 'intermediate process exit' });

  p.place(child);
  const process = o.spec.process!;
  if (o.sessionKeyring !== undefined) emitSessionKeyring(e, o.sessionKeyring, o.joinFds.some((j) => j.type === 'user'), false);
  if (o.rootFd !== undefined) {
    const step = { what: 'chroot into the container\'s root' };
    p.sys('fchdir', [o.rootFd], step);
    p.sys('chroot', [e.str('.')], step);
    p.sys('close', [o.rootFd], step);
  }
  emitEnterCwd(e, process.cwd);
  // a session of its own, as runc's exec'd processes have (see build.ts)
  if (o.console) emitConsole(e, process, o.console, false);
  else p.sys('setsid', [], { what: 'start a session of the process\'s own' });
  emitPassFds(e, o.extraFds);
  emitCredentials(e, o.spec, o.capabilities, o.lastCap, o.joinFds.some((j) => j.type === 'user'), o.socketFd);
  const exe = emitLookup(e, process);
  emitLastAttributes(e, o.spec, o.socketFd);
  emitExec(e, o.spec, exe);
  return { emitter: e, report };
}
