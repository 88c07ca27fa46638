import { closeSync, fstatSync, readSync, writeSync } from 'node:fs';
import { constants } from 'node:os';
import type {
  Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompFlag, LinuxSeccompOperator, Spec,
} from '../spec/types/config.js';
import type { SeccompFeatures } from '../spec/types/features.js';
import type { Emitter } from '../program/emit.js';
import { RuntsError } from '../errors.js';
import { MSG_SECCOMP, RECORD_BYTES } from '../program/protocol.js';
import { libc } from '../sys/libc.js';
import { sendWithFds } from '../sys/scm.js';
import { libseccomp, NR_SCMP_ERROR, SCMP_ARG_CMP_BYTES, type Libseccomp } from '../sys/libseccomp.js';
import { syscallNumber } from '../sys/syscalls.js';
import {
  AF_UNIX, BPF_MAXINSNS, MFD_CLOEXEC, SECCOMP_FILTER_FLAG_LOG, SECCOMP_FILTER_FLAG_NEW_LISTENER,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW, SECCOMP_FILTER_FLAG_TSYNC, SECCOMP_FILTER_FLAG_TSYNC_ESRCH,
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, SECCOMP_SET_MODE_FILTER, SOCK_CLOEXEC, SOCK_STREAM,
} from '../sys/constants.js';
import { SPEC_VERSION } from '../version.js';
import { EPERM } from '../sys/errno.js';
import * as log from '../log.js';

/**
 * linux.seccomp. The runtime compiles the filter with libseccomp before fork, into classic
 * BPF; the init only hands that program to seccomp(2).
 *
 * Where the init loads it, as runc does: with no_new_privs, as late as it can — for an
 * exec'd process just before execve; in a new container just before the init reports
 * ready, so that its startContainer hooks run under it. Without no_new_privs, loading
 * needs CAP_SYS_ADMIN, which the switch to a non-root user clears and capset may drop for
 * root, so it is loaded just before the user switch. Either way the setup's system calls
 * after it go through the filter, so a profile must allow them or the container cannot
 * start: execve, write, openat and close always; when loaded early, also setgroups,
 * setresgid, setresuid, capset, prctl, umask and faccessat (and what the config adds:
 * startContainer hooks, a final CPU affinity, LSM labels). runc has the same constraint;
 * the engines' default profiles allow all of these. The fds are marked for execve before
 * any filter (close_range is missing from older profiles).
 */

/** The actions' return values (libseccomp's SCMP_ACT_*, the kernel's SECCOMP_RET_*). */
const ACTION: Record<LinuxSeccompAction, number> = {
  SCMP_ACT_KILL: 0x00000000,
  SCMP_ACT_KILL_THREAD: 0x00000000,
  SCMP_ACT_KILL_PROCESS: 0x80000000,
  SCMP_ACT_TRAP: 0x00030000,
  SCMP_ACT_ERRNO: 0x00050000,
  SCMP_ACT_TRACE: 0x7ff00000,
  SCMP_ACT_LOG: 0x7ffc0000,
  SCMP_ACT_ALLOW: 0x7fff0000,
  SCMP_ACT_NOTIFY: 0x7fc00000,
};

/** Actions whose low 16 bits carry errnoRet. */
const WITH_ERRNO = new Set<string>(['SCMP_ACT_ERRNO', 'SCMP_ACT_TRACE']);

const OPERATOR: Record<LinuxSeccompOperator, number> = {
  SCMP_CMP_NE: 1, SCMP_CMP_LT: 2, SCMP_CMP_LE: 3, SCMP_CMP_EQ: 4, SCMP_CMP_GE: 5, SCMP_CMP_GT: 6, SCMP_CMP_MASKED_EQ: 7,
};

const FLAG: Record<LinuxSeccompFlag, number> = {
  SECCOMP_FILTER_FLAG_TSYNC: SECCOMP_FILTER_FLAG_TSYNC,
  SECCOMP_FILTER_FLAG_LOG: SECCOMP_FILTER_FLAG_LOG,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: SECCOMP_FILTER_FLAG_SPEC_ALLOW,
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
};

/** Every architecture name of the runtime-spec; libseccomp decides which it knows. */
const ARCHITECTURES: readonly Arch[] = [
  'SCMP_ARCH_X86', 'SCMP_ARCH_X86_64', 'SCMP_ARCH_X32', 'SCMP_ARCH_ARM', 'SCMP_ARCH_AARCH64', 'SCMP_ARCH_MIPS',
  'SCMP_ARCH_MIPS64', 'SCMP_ARCH_MIPS64N32', 'SCMP_ARCH_MIPSEL', 'SCMP_ARCH_MIPSEL64', 'SCMP_ARCH_MIPSEL64N32',
  'SCMP_ARCH_PPC', 'SCMP_ARCH_PPC64', 'SCMP_ARCH_PPC64LE', 'SCMP_ARCH_S390', 'SCMP_ARCH_S390X', 'SCMP_ARCH_PARISC',
  'SCMP_ARCH_PARISC64', 'SCMP_ARCH_RISCV64', 'SCMP_ARCH_LOONGARCH64', 'SCMP_ARCH_M68K', 'SCMP_ARCH_SH', 'SCMP_ARCH_SHEB',
];

export interface SeccompFilter {
  /** struct sock_filter[]: 8 bytes an instruction. */
  bpf: Buffer;
  /** The flags for seccomp(2). */
  flags: number;
  /** Whether a rule notifies a listener: seccomp(2) then returns the listener's fd. */
  notify: boolean;
}

function loadLibrary(): Libseccomp {
  try {
    return libseccomp();
  } catch (err) {
    throw new RuntsError(`libseccomp cannot be loaded: ${(err as Error).message}`, { configPath: 'linux.seccomp' });
  }
}

function actionValue(name: LinuxSeccompAction, errnoRet: number | undefined, configPath: string): number {
  const value = ACTION[name];
  return WITH_ERRNO.has(name) ? (value | ((errnoRet ?? EPERM) & 0xffff)) >>> 0 : value;
}

/** Whether the kernel takes these seccomp(2) flags: given no program, it answers EFAULT only once the flags passed. */
function kernelAccepts(flags: number): boolean {
  const sys = libc();
  return sys.syscall(syscallNumber('seccomp'), SECCOMP_SET_MODE_FILTER, flags, 0, 0, 0, 0) < 0 && sys.errno() === constants.errno.EFAULT;
}

function kernelSupports(flag: LinuxSeccompFlag): boolean {
  // The kernel takes WAIT_KILLABLE_RECV only together with a notification listener.
  const extra = flag === 'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV' ? SECCOMP_FILTER_FLAG_NEW_LISTENER : 0;
  return kernelAccepts(FLAG[flag] | extra);
}

function filterFlags(names: LinuxSeccompFlag[], notify: boolean): number {
  let flags = notify ? SECCOMP_FILTER_FLAG_NEW_LISTENER : 0;
  names.forEach((name, i) => {
    const configPath = `linux.seccomp.flags[${i}]`;
    if (!kernelSupports(name)) throw new RuntsError(`${name} is not supported by this kernel`, { configPath });
    // WAIT_KILLABLE_RECV changes how a notification listener waits; without SCMP_ACT_NOTIFY
    // a filter has no listener, and the kernel refuses the flag on such a filter.
    if (name !== 'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV' || notify) flags |= FLAG[name];
  });
  // The kernel takes TSYNC with a listener only if told to fail with ESRCH, not with a
  // thread id, when another thread cannot sync (libseccomp adds it the same way).
  if (notify && flags & SECCOMP_FILTER_FLAG_TSYNC) flags |= SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
  return flags;
}

/**
 * Whether the profile notifies a listener, and whether it can. A notified write would
 * block the process on its own report to the runtime (runc refuses it too), and a default
 * action of SCMP_ACT_NOTIFY would send every setup call to a listener that has no fd yet.
 */
function usesNotify(s: LinuxSeccomp, lib: Libseccomp): boolean {
  if (s.defaultAction === 'SCMP_ACT_NOTIFY') {
    throw new RuntsError('SCMP_ACT_NOTIFY cannot be the default action', { configPath: 'linux.seccomp.defaultAction' });
  }
  let notify = false;
  (s.syscalls ?? []).forEach((rule, i) => {
    if (rule.action !== 'SCMP_ACT_NOTIFY') return;
    notify = true;
    rule.names.forEach((name, j) => {
      if (lib.syscallResolveName(name) === lib.syscallResolveName('write')) {
        throw new RuntsError('SCMP_ACT_NOTIFY cannot be used for the write system call', { configPath: `linux.seccomp.syscalls[${i}].names[${j}]` });
      }
    });
  });
  if (notify && !s.listenerPath) {
    throw new RuntsError('SCMP_ACT_NOTIFY needs a listener socket', { configPath: 'linux.seccomp.listenerPath' });
  }
  return notify;
}

function archToken(lib: Libseccomp, name: Arch): number {
  return lib.archResolveName(name.replace(/^SCMP_ARCH_/, '').toLowerCase());
}

function addArchitectures(lib: Libseccomp, ctx: unknown, names: Arch[]): void {
  names.forEach((name, i) => {
    const configPath = `linux.seccomp.architectures[${i}]`;
    const token = archToken(lib, name);
    if (token === 0) throw new RuntsError(`architecture ${name} is not supported by libseccomp`, { configPath });
    // The native architecture is in every new filter.
    if (lib.archExist(ctx, token) === 0) return;
    const rc = lib.archAdd(ctx, token);
    if (rc < 0) throw new RuntsError(`add seccomp architecture ${name}`, { errno: -rc, configPath });
  });
}

function condition(arg: LinuxSeccompArg, configPath: string): Buffer {
  if (!Number.isInteger(arg.index) || arg.index < 0 || arg.index > 5) {
    throw new RuntsError(`${arg.index} is not a system call argument: expected 0 to 5`, { configPath: `${configPath}.index` });
  }
  const b = Buffer.alloc(SCMP_ARG_CMP_BYTES);
  b.writeUInt32LE(arg.index, 0);
  b.writeUInt32LE(OPERATOR[arg.op], 4);
  // For SCMP_CMP_MASKED_EQ, value is the mask and valueTwo what the masked argument must equal.
  b.writeBigUInt64LE(datum(arg.value, `${configPath}.value`), 8);
  b.writeBigUInt64LE(datum(arg.valueTwo ?? 0, `${configPath}.valueTwo`), 16);
  return b;
}

/** JSON numbers are doubles: above 2^53 the config no longer says which value it meant. */
function datum(value: number, configPath: string): bigint {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RuntsError(`${value} is not an unsigned integer below 2^53, which is all a JSON number holds exactly`, { configPath });
  }
  return BigInt(value);
}

/**
 * The argument conditions of a rule, as the sets to add one rule each: all together (ANDed)
 * normally; one rule per condition when an argument is compared twice, as runc does, so
 * that such a rule matches either value rather than none.
 */
function conditionSets(args: LinuxSeccompArg[], configPath: string): Buffer[] {
  const conds = args.map((a, j) => condition(a, `${configPath}.args[${j}]`));
  const indexes = new Set(args.map((a) => a.index));
  return indexes.size < args.length ? conds : [Buffer.concat(conds)];
}

function addRules(lib: Libseccomp, ctx: unknown, s: LinuxSeccomp, defaultAction: number): void {
  (s.syscalls ?? []).forEach((rule, i) => {
    const configPath = `linux.seccomp.syscalls[${i}]`;
    const action = actionValue(rule.action, rule.errnoRet, `${configPath}.action`);
    // libseccomp refuses a rule whose action is the default one; it would change nothing.
    if (action === defaultAction) return;
    const sets = conditionSets(rule.args ?? [], configPath);
    for (const name of rule.names) {
      const nr = lib.syscallResolveName(name);
      if (nr === NR_SCMP_ERROR) {
        log.debug(`seccomp: system call ${name} is unknown to libseccomp: skipped`);
        continue;
      }
      for (const set of sets) {
        const rc = lib.ruleAddArray(ctx, action, nr, set.length / SCMP_ARG_CMP_BYTES, set.length ? set : null);
        if (rc < 0) throw new RuntsError(`add seccomp rule for ${name}`, { errno: -rc, configPath });
      }
    }
  });
}

function exportBpf(lib: Libseccomp, ctx: unknown): Buffer {
  const fd = lib.memfdCreate('runts-seccomp', MFD_CLOEXEC);
  if (fd < 0) throw new RuntsError('memfd_create for the seccomp filter', { errno: libc().errno() });
  try {
    const rc = lib.exportBpf(ctx, fd);
    if (rc < 0) throw new RuntsError('export the seccomp filter', { errno: -rc, configPath: 'linux.seccomp' });
    const bpf = Buffer.alloc(fstatSync(fd).size);
    let got = 0;
    while (got < bpf.length) {
      const n = readSync(fd, bpf, got, bpf.length - got, got);
      if (n === 0) break;
      got += n;
    }
    return bpf.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

/** The native architecture's AUDIT_ARCH_* value, as seccomp_data.arch holds it. */
const AUDIT_ARCH: Record<string, number> = { x64: 0xc000003e, arm64: 0xc00000b7 };
const SECCOMP_RET_ERRNO = 0x00050000;
const ENOSYS = 38;

/** One classic BPF instruction (struct sock_filter). */
function bpfInsn(code: number, jt: number, jf: number, k: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt16LE(code, 0);
  b.writeUInt8(jt, 2);
  b.writeUInt8(jf, 3);
  b.writeUInt32LE(k >>> 0, 4);
  return b;
}

/**
 * A system call newer than every one the profile names gets ENOSYS, not the default
 * action: a profile cannot name what did not exist when it was written, and ENOSYS is what
 * makes glibc and others fall back to an older call (EPERM makes them fail). runc patches
 * its filters the same way. Only the native architecture, and only when the default is
 * not to allow: an error instead of the default action never grants anything.
 */
function withEnosysStub(bpf: Buffer, s: LinuxSeccomp, defaultAction: number, lib: Libseccomp): Buffer {
  const arch = AUDIT_ARCH[process.arch];
  if (arch === undefined || defaultAction === ACTION.SCMP_ACT_ALLOW) return bpf;
  let highest = -1;
  (s.syscalls ?? []).forEach((rule, i) => {
    // a rule with the default action adds nothing to the filter (addRules)
    if (actionValue(rule.action, rule.errnoRet, `linux.seccomp.syscalls[${i}].action`) === defaultAction) return;
    for (const name of rule.names) highest = Math.max(highest, lib.syscallResolveName(name));
  });
  if (highest < 0) return bpf;
  const stub = Buffer.concat([
    bpfInsn(0x20, 0, 0, 4), // ld [4]: arch
    bpfInsn(0x15, 0, 3, arch), // jeq native, else the profile's filter
    bpfInsn(0x20, 0, 0, 0), // ld [0]: nr
    bpfInsn(0x25, 0, 1, highest), // jgt highest, else the profile's filter
    bpfInsn(0x06, 0, 0, SECCOMP_RET_ERRNO | ENOSYS), // ret ERRNO(ENOSYS)
  ]);
  return Buffer.concat([stub, bpf]);
}

/** Compiles linux.seccomp to BPF. No effect on the system: libseccomp, a memfd, flag probes. */
export function compileSeccomp(s: LinuxSeccomp): SeccompFilter {
  const lib = loadLibrary();
  const notify = usesNotify(s, lib);
  const defaultAction = actionValue(s.defaultAction, s.defaultErrnoRet, 'linux.seccomp.defaultAction');
  const flags = filterFlags(s.flags ?? [], notify);
  const ctx = lib.init(defaultAction);
  if (!ctx) {
    throw new RuntsError(`libseccomp refused the default action ${s.defaultAction}`, { configPath: 'linux.seccomp.defaultAction' });
  }
  try {
    addArchitectures(lib, ctx, s.architectures ?? []);
    addRules(lib, ctx, s, defaultAction);
    const bpf = withEnosysStub(exportBpf(lib, ctx), s, defaultAction, lib);
    if (bpf.length / 8 > BPF_MAXINSNS) {
      throw new RuntsError(`the seccomp filter has ${bpf.length / 8} instructions, more than the kernel's ${BPF_MAXINSNS}`, { configPath: 'linux.seccomp' });
    }
    return { bpf, flags, notify };
  } finally {
    lib.release(ctx);
  }
}

export type SeccompStage = 'before-user' | 'final';

/**
 * Loads the filter if `stage` is where it belongs: 'before-user' just before the switch to
 * the container's user, 'final' just before execve (see the top of this file). `socket`
 * is the process's socket to the runtime, over which a listener's fd is handed on.
 */
export function emitSeccomp(e: Emitter, spec: Spec, stage: SeccompStage, socket: number): void {
  const s = spec.linux?.seccomp;
  if (!s) return;
  const early = !spec.process?.noNewPrivileges;
  if (early !== (stage === 'before-user')) return;
  const { bpf, flags, notify } = compileSeccomp(s);
  const p = e.p;
  // struct sock_fprog: unsigned short len, then (at 8) the address of the instructions
  const fprog = Buffer.alloc(16);
  fprog.writeUInt16LE(bpf.length / 8, 0);
  const prog = p.struct(fprog, [{ at: 8, to: p.bytes(bpf) }]);
  const load = { what: 'load the seccomp filter', configPath: 'linux.seccomp' };
  if (!notify) {
    p.sys('seccomp', [SECCOMP_SET_MODE_FILTER, flags, prog], load);
    return;
  }
  const listener = p.reg('seccomp listener');
  p.sys('seccomp', [SECCOMP_SET_MODE_FILTER, flags, prog], load, { save: listener });
  const message = Buffer.alloc(RECORD_BYTES);
  message.writeInt32LE(MSG_SECCOMP, 0);
  const record = p.bytes(message);
  p.store32(record, 1, listener);
  const step = { what: 'hand the seccomp listener fd to the runtime', configPath: 'linux.seccomp.listenerPath' };
  p.sys('write', [socket, record, RECORD_BYTES], step);
  p.sys('read', [socket, p.bytes(8), 1], step, { nonzero: true });
  p.sys('close', [listener], step);
}

/** The runtime-spec state of the container, as the listener gets it. */
export interface ListenerState {
  ociVersion: string;
  id: string;
  status: string;
  pid: number;
  bundle: string;
  annotations?: Record<string, string>;
}

/**
 * The runtime's side of MSG_SECCOMP: takes listener fd `fd` out of process `pid` and sends
 * it, with the container process state, to linux.seccomp.listenerPath — one connection,
 * one sendmsg carrying the JSON and the fd (runtime-spec, "The Container Process State").
 */
export function sendToListener(spec: Spec, pid: number, fd: number, state: ListenerState): void {
  const s = spec.linux!.seccomp!;
  const path = s.listenerPath!;
  const configPath = 'linux.seccomp.listenerPath';
  const sys = libc();
  const call = (name: 'pidfd_open' | 'pidfd_getfd', a: number, b: number, what: string): number => {
    const r = sys.syscall(syscallNumber(name), a, b, 0, 0, 0, 0);
    if (r < 0) throw new RuntsError(what, { errno: sys.errno(), configPath });
    return r;
  };
  const open: number[] = [];
  try {
    const pidfd = call('pidfd_open', pid, 0, `open the container process ${pid}`);
    open.push(pidfd);
    const listenerFd = call('pidfd_getfd', pidfd, fd, 'take the seccomp listener fd from the container process');
    open.push(listenerFd);
    const address = Buffer.alloc(110);
    if (Buffer.byteLength(path) > 107) throw new RuntsError(`seccomp listener path too long: ${path}`, { configPath });
    address.writeUInt16LE(AF_UNIX, 0);
    address.write(path, 2);
    const socket = sys.socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (socket < 0) throw new RuntsError('socket', { errno: sys.errno() });
    open.push(socket);
    if (sys.connect(socket, address, address.length) < 0) {
      throw new RuntsError(`connect to the seccomp listener ${path}`, { errno: sys.errno(), configPath });
    }
    const json = Buffer.from(JSON.stringify({
      ociVersion: SPEC_VERSION, fds: ['seccompFd'], pid,
      ...(s.listenerMetadata !== undefined ? { metadata: s.listenerMetadata } : {}),
      state,
    }));
    const sent = sendWithFds(socket, json, [listenerFd]);
    if (sent < 0) throw new RuntsError(`send to the seccomp listener ${path}`, { errno: sys.errno(), configPath });
    // the fd went with the first bytes; the rest of the JSON follows as plain data
    for (let at = sent; at < json.length;) at += writeSync(socket, json, at, json.length - at);
  } finally {
    for (const fd of open) closeSync(fd);
  }
}

/** linux.seccomp of `runts features`: what runts with this libseccomp recognises. */
export function seccompFeatures(): SeccompFeatures {
  let lib: Libseccomp;
  try {
    lib = libseccomp();
  } catch {
    return { enabled: false };
  }
  const flags = Object.keys(FLAG) as LinuxSeccompFlag[];
  return {
    enabled: true,
    actions: Object.keys(ACTION).sort(),
    operators: Object.keys(OPERATOR).sort(),
    archs: ARCHITECTURES.filter((a) => archToken(lib, a) !== 0).sort(),
    knownFlags: flags,
    supportedFlags: flags.filter(kernelSupports),
  };
}
