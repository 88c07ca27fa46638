import type { Process, Spec } from '../spec/types/config.js';
import type { Emitter } from '../program/emit.js';
import { ANY_ERRNO, type Ptr, type Reg } from '../program/program.js';
import { RECORD_BYTES } from '../program/protocol.js';
import { emitCapabilitiesAfterUser, emitCapabilitiesBeforeUser, type CapabilityPlan } from '../linux/capabilities.js';
import { emitRlimits } from '../linux/rlimits.js';
import { emitFinalAttributes, emitLsmLabels, emitPersonality, emitPrivilegedAttributes } from '../linux/process-attributes.js';
import { emitSeccomp } from '../linux/seccomp.js';
import { emitMemoryPolicy } from '../linux/mempolicy.js';
import { openInContainer } from '../linux/paths.js';
import { AT_FDCWD, CLOSE_RANGE_CLOEXEC, F_SETFD, O_CLOEXEC, O_DIRECTORY, O_PATH, O_RDONLY, PATH_MAX, X_OK } from '../sys/constants.js';
import { ENOENT, EPERM } from '../sys/errno.js';
import { execCandidates } from '../spec/exec-args.js';

/**
 * Steps shared by every process runts starts in a container — the init of `create` and
 * the processes of `exec`: closing what Node had open, the switch to the process's
 * credentials, finding the executable and the final execve.
 */

/** A protocol record of `kind` in the arena. */
export function record(e: Emitter, kind: number): Ptr {
  const b = Buffer.alloc(RECORD_BYTES);
  b.writeInt32LE(kind, 0);
  return e.p.bytes(b);
}

/**
 * Closes every fd the runtime's Node process had open (its event loop, a held lock…)
 * except stdio, the passed fds and the ones the setup needs: a copy of a lock fd would
 * hold the lock for as long as the container waits in `created`.
 */
export function emitCloseInherited(e: Emitter, from: number, keep: number[]): void {
  const kept = [...new Set(keep)].filter((fd) => fd >= from).sort((a, b) => a - b);
  let start = from;
  const step = { what: 'close inherited fds' };
  for (const fd of kept) {
    if (fd > start) e.p.sys('close_range', [start, fd - 1, 0], step);
    start = fd + 1;
  }
  e.p.sys('close_range', [start, 0xffffffff, 0], step);
}

/**
 * chdir to process.cwd, resolved inside the container's root with magic links refused: a
 * cwd of /proc/self/fd/N or /proc/1/fd/N would otherwise name a directory that a setup
 * process holds open on the host (CVE-2024-21626). getcwd(2) then proves the result is
 * under the root: for a directory outside it the kernel answers "(unreachable)…".
 * The cwd (AT_FDCWD) must be the container's / when this runs.
 */
export function emitEnterCwd(e: Emitter, cwd: string): void {
  const p = e.p;
  const step = { what: `change to working directory ${cwd}`, configPath: 'process.cwd' };
  const fd = p.reg('cwd');
  openInContainer(e, cwd, O_PATH | O_DIRECTORY, fd, step);
  p.sys('fchdir', [fd], step);
  p.sys('close', [fd], step);
  const path = p.bytes(PATH_MAX);
  const first = p.reg('cwd first byte');
  p.sys('getcwd', [path, PATH_MAX], step);
  p.load32(first, path, 0);
  p.failUnless(first, 0xff, '/'.charCodeAt(0), { what: `working directory ${cwd} is outside the container's root`, configPath: 'process.cwd' });
}

/** Where this process's command line and environment strings lie, from /proc/self/stat. */
export interface ArgumentArea {
  argStart: bigint;
  argEnd: bigint;
  envStart: bigint;
  envEnd: bigint;
}

/**
 * A setup process is a fork of the runtime: its /proc/<pid>/cmdline, which any process
 * that sees it may read, and its environ would show the runtime's (the --root, the bundle
 * path, the environment). Zeros from /dev/zero overwrite the child's copy of them.
 */
export function emitHideRuntimeArguments(e: Emitter, area: ArgumentArea): void {
  const p = e.p;
  const step = { what: 'clear the runtime\'s arguments and environment' };
  const zero = p.reg('zero');
  p.sys('openat', [AT_FDCWD, e.str('/dev/zero'), O_RDONLY | O_CLOEXEC], step, { save: zero });
  p.sys('read', [zero, area.argStart, area.argEnd - area.argStart], step);
  p.sys('read', [zero, area.envStart, area.envEnd - area.envStart], step);
  p.sys('close', [zero], step);
}

function emitUser(e: Emitter, process: Process, inUserNamespace: boolean): void {
  const user = process.user ?? { uid: 0, gid: 0 };
  const gids = user.additionalGids ?? [];
  const list = Buffer.alloc(4 * Math.max(1, gids.length));
  gids.forEach((g, i) => list.writeUInt32LE(g, 4 * i));
  // Host supplementary groups must not leak in; a joined user namespace may deny setgroups.
  e.p.sys('setgroups', [gids.length, e.p.bytes(list)], { what: 'set additional groups', configPath: 'process.user.additionalGids' },
    { tolerate: inUserNamespace && gids.length === 0 ? [EPERM] : [] });
  const step = { what: `switch to uid ${user.uid} gid ${user.gid}`, configPath: 'process.user' };
  e.p.sys('setresgid', [user.gid, user.gid, user.gid], step);
  e.p.sys('setresuid', [user.uid, user.uid, user.uid], step);
}

/**
 * From root in the container's namespaces to the process's own credentials: limits,
 * attributes that need privilege and the LSM labels first, then capabilities around the
 * user switch. `spec.process` is the process being started; `socket` its socket to the runtime.
 */
export function emitCredentials(e: Emitter, spec: Spec, caps: CapabilityPlan, lastCap: number, inUserNamespace: boolean, socket: number): void {
  const process = spec.process!;
  emitRlimits(e, process.rlimits);
  emitPrivilegedAttributes(e, process);
  emitPersonality(e, spec);
  emitMemoryPolicy(e, spec);
  emitLsmLabels(e, process);
  emitCapabilitiesBeforeUser(e, caps, lastCap);
  emitSeccomp(e, spec, 'before-user', socket);
  emitUser(e, process, inUserNamespace);
  emitCapabilitiesAfterUser(e, caps);
  e.p.sys('umask', [process.user?.umask ?? 0o022], { what: 'set umask', configPath: 'process.user.umask' });
}

/**
 * Finds process.args[0] along the process's PATH as the process's user, so that a missing
 * executable is an error of create (or exec), as with runc. Returns the register holding
 * the found path.
 */
export function emitLookup(e: Emitter, process: Process): Reg {
  const p = e.p;
  const exe = p.reg('exe');
  const found = p.label('found');
  const result = p.reg('access');
  for (const c of execCandidates(process.args![0], process.env)) {
    const here = p.label(`found ${c}`);
    const next = p.label(`next ${c}`);
    p.sys('faccessat', [AT_FDCWD, e.str(c), X_OK, 0], { what: `look up ${c}` }, { save: result, tolerate: [ANY_ERRNO] });
    p.jumpIfZero(result, here);
    p.jump(next);
    p.place(here);
    p.set(exe, e.str(c));
    p.jump(found);
    p.place(next);
  }
  p.fail({ what: `exec: "${process.args![0]}": executable file not found in $PATH`, configPath: 'process.args' }, ENOENT);
  p.place(found);
  return exe;
}

/**
 * The process gets stdio and the passed fds; everything else closes on execve. Done before
 * credentials change, because a seccomp filter loaded then may deny close_range(2).
 */
export function emitPassFds(e: Emitter, extraFds: number): void {
  const p = e.p;
  const keep = 3 + extraFds;
  for (let fd = 0; fd < keep; fd++) {
    p.sys('fcntl', [fd, F_SETFD, 0], { what: `pass fd ${fd}` }, { tolerate: [ANY_ERRNO] });
  }
  p.sys('close_range', [keep, 0xffffffff, CLOSE_RANGE_CLOEXEC], { what: 'mark other fds close-on-exec' });
}

/**
 * The last of the setup: attributes that must come late and, with no_new_privs, the
 * seccomp filter. In a new container this comes before the init reports ready, as in
 * runc, so that startContainer hooks, which run in the container, run under the filter.
 */
export function emitLastAttributes(e: Emitter, spec: Spec, socket: number): void {
  emitFinalAttributes(e, spec.process!);
  emitSeccomp(e, spec, 'final', socket);
}

/** execve of the process. */
export function emitExec(e: Emitter, spec: Spec, exe: Reg): void {
  const p = e.p;
  const process = spec.process!;
  const argv = p.pointerArray(process.args!.map((a) => e.str(a)));
  const envp = p.pointerArray((process.env ?? []).map((v) => e.str(v)));
  p.sys('execve', [exe, argv, envp], { what: `exec ${process.args![0]}`, configPath: 'process.args' });
}
