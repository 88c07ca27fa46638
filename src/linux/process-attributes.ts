import { existsSync, readFileSync } from 'node:fs';
import type { Process, Spec } from '../spec/types/config.js';
import type { Emitter } from '../program/emit.js';
import type { Reg } from '../program/program.js';
import { RuntsError } from '../errors.js';
import { AT_FDCWD, O_CLOEXEC, O_WRONLY, PR_SET_NO_NEW_PRIVS } from '../sys/constants.js';
import { emitOpenInProcfs, emitOpenProcfs } from './procfs.js';
import { ENOENT } from '../sys/errno.js';

/**
 * The process attributes of config.md's "Linux Process" besides user and capabilities:
 * oom_score_adj, personality, I/O priority, scheduler, CPU affinity, no_new_privs and the
 * LSM labels.
 */

const SCHED_POLICY: Record<string, number> = {
  SCHED_OTHER: 0, SCHED_FIFO: 1, SCHED_RR: 2, SCHED_BATCH: 3, SCHED_ISO: 4, SCHED_IDLE: 5, SCHED_DEADLINE: 6,
};
const SCHED_FLAG: Record<string, number> = {
  SCHED_FLAG_RESET_ON_FORK: 0x01, SCHED_FLAG_RECLAIM: 0x02, SCHED_FLAG_DL_OVERRUN: 0x04,
  SCHED_FLAG_KEEP_POLICY: 0x08, SCHED_FLAG_KEEP_PARAMS: 0x10, SCHED_FLAG_UTIL_CLAMP_MIN: 0x20,
  SCHED_FLAG_UTIL_CLAMP_MAX: 0x40,
};
const IOPRIO_CLASS: Record<string, number> = { IOPRIO_CLASS_RT: 1, IOPRIO_CLASS_BE: 2, IOPRIO_CLASS_IDLE: 3 };
const IOPRIO_WHO_PROCESS = 1;
const PERSONALITY_DOMAIN: Record<string, number> = { LINUX: 0x0000, LINUX32: 0x0008 };
const PERSONALITY_FLAG: Record<string, number> = {
  UNAME26: 0x0020000, ADDR_NO_RANDOMIZE: 0x0040000, FDPIC_FUNCPTRS: 0x0080000, MMAP_PAGE_ZERO: 0x0100000,
  ADDR_COMPAT_LAYOUT: 0x0200000, READ_IMPLIES_EXEC: 0x0400000, ADDR_LIMIT_32BIT: 0x0800000,
  SHORT_INODE: 0x1000000, WHOLE_SECONDS: 0x2000000, STICKY_TIMEOUTS: 0x4000000, ADDR_LIMIT_3GB: 0x8000000,
};

/** A CPU list ("0-3,7") as a cpu_set_t of 1024 CPUs. */
export function cpuMask(list: string, configPath: string): Buffer {
  const mask = Buffer.alloc(128);
  for (const part of list.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    const from = m ? Number(m[1]) : NaN;
    const to = m?.[2] !== undefined ? Number(m[2]) : from;
    if (!m || to < from || to >= 1024) throw new RuntsError(`invalid CPU list ${JSON.stringify(list)}`, { configPath });
    for (let cpu = from; cpu <= to; cpu++) mask[cpu >> 3] |= 1 << (cpu & 7);
  }
  return mask;
}

function writeProcSelf(e: Emitter, file: string, text: string, what: string, configPath: string): void {
  const fd = e.p.reg(file);
  const step = { what, configPath };
  e.p.sys('openat', [AT_FDCWD, e.str(`/proc/self/${file}`), O_WRONLY | O_CLOEXEC], step, { save: fd });
  e.p.sys('write', [fd, e.str(text), Buffer.byteLength(text)], step);
  e.p.sys('close', [fd], step);
}

/** In the intermediate process, before any namespace: it is inherited by the init. */
export function emitEarlyAttributes(e: Emitter, p: Process): void {
  if (p.oomScoreAdj !== undefined) {
    writeProcSelf(e, 'oom_score_adj', String(p.oomScoreAdj), `set oom_score_adj to ${p.oomScoreAdj}`, 'process.oomScoreAdj');
  }
  if (p.execCPUAffinity?.initial) {
    const mask = cpuMask(p.execCPUAffinity.initial, 'process.execCPUAffinity.initial');
    e.p.sys('sched_setaffinity', [0, mask.length, e.p.bytes(mask)], { what: 'set initial CPU affinity', configPath: 'process.execCPUAffinity.initial' });
  }
}

/** In the init, while it still has its capabilities. */
export function emitPrivilegedAttributes(e: Emitter, p: Process): void {
  if (p.ioPriority) {
    const prio = (IOPRIO_CLASS[p.ioPriority.class] << 13) | (p.ioPriority.priority ?? 0);
    e.p.sys('ioprio_set', [IOPRIO_WHO_PROCESS, 0, prio], { what: 'set I/O priority', configPath: 'process.ioPriority' });
  }
  if (p.scheduler) {
    const s = p.scheduler;
    const attr = Buffer.alloc(56);
    attr.writeUInt32LE(56, 0);
    attr.writeUInt32LE(SCHED_POLICY[s.policy], 4);
    attr.writeBigUInt64LE(BigInt((s.flags ?? []).reduce((a, f) => a | SCHED_FLAG[f], 0)), 8);
    attr.writeInt32LE(s.nice ?? 0, 16);
    attr.writeUInt32LE(s.priority ?? 0, 20);
    attr.writeBigUInt64LE(BigInt(s.runtime ?? 0), 24);
    attr.writeBigUInt64LE(BigInt(s.deadline ?? 0), 32);
    attr.writeBigUInt64LE(BigInt(s.period ?? 0), 40);
    e.p.sys('sched_setattr', [0, e.p.bytes(attr), 0], { what: `set scheduler ${s.policy}`, configPath: 'process.scheduler' });
  }
}

export function emitPersonality(e: Emitter, spec: Spec): void {
  const p = spec.linux?.personality;
  if (!p) return;
  const persona = (p.flags ?? []).reduce((a, f) => a | (PERSONALITY_FLAG[f] ?? 0), PERSONALITY_DOMAIN[p.domain]);
  e.p.sys('personality', [persona], { what: `set personality ${p.domain}`, configPath: 'linux.personality' });
}

/**
 * The LSM labels the process gets at execve, written to its own attr/*exec in the
 * container's /proc. As with runc: while the process is still root, before any seccomp
 * filter, after pivot_root (the process's /proc is the container's).
 */
export function emitLsmLabels(e: Emitter, p: Process): void {
  if (p.apparmorProfile) {
    const profile = p.apparmorProfile;
    const step = { what: `apply AppArmor profile ${profile}`, configPath: 'process.apparmorProfile' };
    // attr/apparmor/ came with LSM stacking (Linux 5.8); older kernels have only attr/exec
    const fd = openLsmAttr(e, ['apparmor/exec', 'exec'], step);
    const written = e.p.reg('apparmor written');
    const loaded = e.p.label('apparmor profile loaded');
    const missing = e.p.label('apparmor profile not loaded');
    const text = `exec ${profile}`;
    // the kernel answers ENOENT for a profile it does not know
    e.p.sys('write', [fd, e.str(text), Buffer.byteLength(text)], step, { save: written, tolerate: [ENOENT] });
    e.p.jumpIfNegative(written, missing);
    e.p.jump(loaded);
    e.p.place(missing);
    e.p.fail({ what: `AppArmor profile ${profile} is not loaded`, configPath: 'process.apparmorProfile' }, ENOENT);
    e.p.place(loaded);
    e.p.sys('close', [fd], step);
  }
  if (p.selinuxLabel) {
    const step = { what: `set SELinux label ${p.selinuxLabel}`, configPath: 'process.selinuxLabel' };
    const fd = openLsmAttr(e, ['exec'], step);
    e.p.sys('write', [fd, e.str(p.selinuxLabel), Buffer.byteLength(p.selinuxLabel)], step);
    e.p.sys('close', [fd], step);
  }
}

/**
 * Opens the first of `files` (under /proc/thread-self/attr/) that exists, for writing,
 * through a clone of the container's procfs (procfs.ts): a label written anywhere but
 * procfs would be silently lost, and one written to another procfs file (such as
 * /proc/sysrq-trigger) would act there.
 */
function openLsmAttr(e: Emitter, files: string[], step: { what: string; configPath: string }): Reg {
  const p = e.p;
  const proc = emitOpenProcfs(e, step);
  const fd = p.reg('lsm attr');
  const opened = p.label(`${files[0]} opened`);
  files.forEach((file, i) => {
    const last = i === files.length - 1;
    emitOpenInProcfs(e, proc, `thread-self/attr/${file}`, O_WRONLY, fd, step, last ? [] : [ENOENT]);
    if (!last) {
      const next = p.label(`${file} missing`);
      p.jumpIfNegative(fd, next);
      p.jump(opened);
      p.place(next);
    }
  });
  p.place(opened);
  p.sys('close', [proc], step);
  return fd;
}

/** Just before execve: what must hold for the user's process only. */
export function emitFinalAttributes(e: Emitter, p: Process): void {
  if (p.noNewPrivileges) {
    e.p.sys('prctl', [PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0], { what: 'set no_new_privs', configPath: 'process.noNewPrivileges' });
  }
  if (p.execCPUAffinity?.final) {
    const mask = cpuMask(p.execCPUAffinity.final, 'process.execCPUAffinity.final');
    e.p.sys('sched_setaffinity', [0, mask.length, e.p.bytes(mask)], { what: 'set final CPU affinity', configPath: 'process.execCPUAffinity.final' });
  }
}

/** Before anything runs: LSM settings this host cannot honour are a clear error, not a silent no. */
export function checkLsm(p: Process): void {
  if (p.apparmorProfile && !apparmorEnabled()) {
    throw new RuntsError('AppArmor is not enabled on this host', { configPath: 'process.apparmorProfile' });
  }
  if (p.selinuxLabel && !selinuxEnabled()) {
    throw new RuntsError('SELinux is not enabled on this host', { configPath: 'process.selinuxLabel' });
  }
}

export function apparmorEnabled(): boolean {
  try {
    return readFileSync('/sys/module/apparmor/parameters/enabled', 'latin1').trim() === 'Y';
  } catch {
    return false;
  }
}

/**
 * Whether the kernel knows AppArmor profile `name`, from securityfs' list of the loaded
 * profiles ("name (mode)" a line); undefined when that cannot be told: no securityfs, or a
 * name the list does not show as such (a stack "a//&b", a namespace ":ns:name").
 */
export function apparmorProfileLoaded(name: string): boolean | undefined {
  if (name === 'unconfined') return true;
  if (name.includes('//&') || name.startsWith(':')) return undefined;
  let list: string;
  try {
    list = readFileSync('/sys/kernel/security/apparmor/profiles', 'utf8');
  } catch {
    return undefined;
  }
  return list.split('\n').some((line) => line.slice(0, line.lastIndexOf(' (')) === name);
}

export function selinuxEnabled(): boolean {
  return existsSync('/sys/fs/selinux/enforce');
}
