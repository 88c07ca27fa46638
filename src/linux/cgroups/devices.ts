import type { LinuxDeviceCgroup } from '../../spec/types/config.js';
import { RuntsError } from '../../errors.js';

/**
 * The device cgroup, as runc applies it: every container starts from "deny all", then
 * linux.resources.devices in order, then the devices every container gets (null, zero,
 * full, tty, random, urandom, ptys, and mknod of any node so the init can create them).
 * cgroup v1 takes the rules as lines for devices.allow / devices.deny; cgroup v2 has no
 * device files: an eBPF program attached to the cgroup decides, built here from the
 * rules by replaying v1's semantics.
 */

export interface DeviceRule {
  allow: boolean;
  type: 'a' | 'b' | 'c';
  /** -1: any. */
  major: number;
  minor: number;
  /** Some of "rwm". */
  access: string;
  configPath: string;
}

// The implicit rules are reported as part of the setting they complete.
const DEFAULT_PATH = 'linux.resources.devices';

function allowed(type: 'b' | 'c', major: number, minor: number, access: string): DeviceRule {
  return { allow: true, type, major, minor, access, configPath: DEFAULT_PATH };
}

const DEFAULT_ALLOWED: DeviceRule[] = [
  allowed('c', -1, -1, 'm'),
  allowed('b', -1, -1, 'm'),
  allowed('c', 1, 3, 'rwm'), // null
  allowed('c', 1, 8, 'rwm'), // random
  allowed('c', 1, 7, 'rwm'), // full
  allowed('c', 5, 0, 'rwm'), // tty
  allowed('c', 1, 5, 'rwm'), // zero
  allowed('c', 1, 9, 'rwm'), // urandom
  allowed('c', 136, -1, 'rwm'), // pty slaves
  allowed('c', 5, 2, 'rwm'), // ptmx
];

export function deviceRules(devices: LinuxDeviceCgroup[] | undefined): DeviceRule[] {
  const rules: DeviceRule[] = [{ allow: false, type: 'a', major: -1, minor: -1, access: 'rwm', configPath: DEFAULT_PATH }];
  (devices ?? []).forEach((d, i) => {
    const configPath = `linux.resources.devices[${i}]`;
    const access = d.access ?? 'rwm';
    if (!/^[rwm]{1,3}$/.test(access) || new Set(access).size !== access.length) {
      throw new RuntsError(`access must be some of "rwm", got ${JSON.stringify(access)}`, { configPath: `${configPath}.access` });
    }
    rules.push({ allow: d.allow, type: d.type ?? 'a', major: d.major ?? -1, minor: d.minor ?? -1, access, configPath });
  });
  return [...rules, ...DEFAULT_ALLOWED];
}

/** The line for devices.allow or devices.deny (v1). */
export function v1DeviceLine(r: DeviceRule): string {
  if (r.type === 'a') return 'a';
  const n = (v: number) => (v < 0 ? '*' : String(v));
  return `${r.type} ${n(r.major)}:${n(r.minor)} ${r.access}`;
}

// The access and type bits of struct bpf_cgroup_dev_ctx (and of v1's exceptions).
const ACC = { m: 1, r: 2, w: 4 } as const;
const DEV_BLOCK = 1;
const DEV_CHAR = 2;

function accessBits(access: string): number {
  return [...access].reduce((bits, c) => bits | ACC[c as keyof typeof ACC], 0);
}

interface Exception {
  type: 'b' | 'c';
  major: number;
  minor: number;
  access: number;
}

/** What v1 would hold after the rules: a default and the exceptions to it. */
export interface DeviceState {
  defaultAllow: boolean;
  exceptions: Exception[];
}

/**
 * Replays the rules as the v1 kernel applies writes: "a" sets the default and drops every
 * exception; a rule against the default adds (or widens) an exception; a rule agreeing
 * with it takes access away from the exception for the same device.
 */
export function emulateDevices(rules: DeviceRule[]): DeviceState {
  const state: DeviceState = { defaultAllow: true, exceptions: [] };
  for (const r of rules) {
    if (r.type === 'a') {
      state.defaultAllow = r.allow;
      state.exceptions = [];
      continue;
    }
    const bits = accessBits(r.access);
    const same = state.exceptions.find((e) => e.type === r.type && e.major === r.major && e.minor === r.minor);
    if (r.allow !== state.defaultAllow) {
      if (same) same.access |= bits;
      else state.exceptions.push({ type: r.type, major: r.major, minor: r.minor, access: bits });
    } else if (same) {
      same.access &= ~bits;
      if (same.access === 0) state.exceptions.splice(state.exceptions.indexOf(same), 1);
    }
  }
  return state;
}

// eBPF opcodes (linux/bpf_common.h, linux/bpf.h)
const LDX_MEM_W = 0x61;
const ALU_AND_K = 0x54;
const ALU_RSH_K = 0x74;
const ALU_MOV_K = 0xb4;
const ALU_MOV_X = 0xbc;
const JMP_JEQ_K = 0x15;
const JMP_JNE_K = 0x55;
const JMP_EXIT = 0x95;

interface Insn {
  op: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
}

const insn = (op: number, dst: number, src: number, off: number, imm: number): Insn => ({ op, dst, src, off, imm });

/**
 * A BPF_PROG_TYPE_CGROUP_DEVICE program deciding as `state` does: r2 = device type,
 * r3 = access asked, r4 = major, r5 = minor; one block per exception, first match
 * returns the opposite of the default. A v1 allow exception must cover every bit asked
 * for; a deny exception matches when it covers any.
 */
export function deviceProgram(state: DeviceState): Buffer {
  const code: Insn[] = [
    insn(LDX_MEM_W, 2, 1, 0, 0),
    insn(ALU_AND_K, 2, 0, 0, 0xffff),
    insn(LDX_MEM_W, 3, 1, 0, 0),
    insn(ALU_RSH_K, 3, 0, 0, 16),
    insn(LDX_MEM_W, 4, 1, 4, 0),
    insn(LDX_MEM_W, 5, 1, 8, 0),
  ];
  for (const ex of state.exceptions) {
    const block: Insn[] = [insn(JMP_JNE_K, 2, 0, 0, ex.type === 'b' ? DEV_BLOCK : DEV_CHAR)];
    if (ex.major >= 0) block.push(insn(JMP_JNE_K, 4, 0, 0, ex.major));
    if (ex.minor >= 0) block.push(insn(JMP_JNE_K, 5, 0, 0, ex.minor));
    block.push(insn(ALU_MOV_X, 1, 3, 0, 0));
    if (state.defaultAllow) {
      block.push(insn(ALU_AND_K, 1, 0, 0, ex.access), insn(JMP_JEQ_K, 1, 0, 0, 0));
    } else {
      block.push(insn(ALU_AND_K, 1, 0, 0, ~ex.access & 7), insn(JMP_JNE_K, 1, 0, 0, 0));
    }
    block.push(insn(ALU_MOV_K, 0, 0, 0, state.defaultAllow ? 0 : 1), insn(JMP_EXIT, 0, 0, 0, 0));
    // Every jump of the block goes to the next block.
    block.forEach((b, i) => {
      if (b.op === JMP_JNE_K || b.op === JMP_JEQ_K) b.off = block.length - i - 1;
    });
    code.push(...block);
  }
  code.push(insn(ALU_MOV_K, 0, 0, 0, state.defaultAllow ? 1 : 0), insn(JMP_EXIT, 0, 0, 0, 0));
  const buf = Buffer.alloc(8 * code.length);
  code.forEach((c, i) => {
    buf.writeUInt8(c.op, 8 * i);
    buf.writeUInt8((c.src << 4) | c.dst, 8 * i + 1);
    buf.writeInt16LE(c.off, 8 * i + 2);
    buf.writeInt32LE(c.imm, 8 * i + 4);
  });
  return buf;
}
