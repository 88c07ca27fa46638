import type { SyscallName } from '../sys/syscalls.js';
import { syscallNumber } from '../sys/syscalls.js';
import { errnoName, errnoText } from '../errors.js';

/**
 * A program for the container's setup processes.
 *
 * The setup runs in a child forked from the multithreaded Node process, where only a short
 * sequence of pre-built work is safe: no allocation, no module loading, no exceptions. So
 * the runtime side turns the config into a Program — system calls with their arguments
 * laid out in one memory arena, plus a few registers and jumps — and the child only walks
 * it (executor.ts). Building a Program is plain TypeScript without effects, which is what
 * the unit tests inspect.
 */

/** A place in the arena; becomes an address when the program is linked. */
export class Ptr {
  constructor(readonly offset: number, readonly text?: string) {}
}

/** A register: holds a system call's result (an fd, a pid) or an address chosen at run time. */
export class Reg {
  constructor(readonly index: number, readonly name: string) {}
}

export class Label {
  at = -1;
  constructor(readonly name: string) {}
}

export type Value = number | bigint | Ptr | Reg;

/** What a step means to a person: reported when its system call fails. */
export interface Step {
  what: string;
  configPath?: string;
}

export const OP_SYS = 0;
export const OP_SET = 1;
export const OP_JUMP = 2;
export const OP_JUMP_IF_ZERO = 3;
export const OP_JUMP_IF_NEGATIVE = 4;
export const OP_STORE32 = 5;
export const OP_FAIL = 6;
export const OP_LOAD32 = 7;
export const OP_JUMP_IF_DIFFERENT = 8;

/** Tolerate any errno: the result (-1) is kept for a later jump. */
export const ANY_ERRNO = -1;

interface Pending {
  op: number;
  syscall?: SyscallName;
  args: Value[];
  save?: Reg;
  tolerate: number[];
  nonzero: boolean;
  label?: Label;
  step: Step;
}

/**
 * One linked instruction. Every instruction has the same shape so the executor's property
 * loads stay monomorphic; addresses are BigInts because V8 boxes large doubles on every
 * load, and a load must not allocate.
 */
export interface Instruction {
  op: number;
  nr: number;
  a0: number | bigint; a1: number | bigint; a2: number | bigint;
  a3: number | bigint; a4: number | bigint; a5: number | bigint;
  r0: number; r1: number; r2: number; r3: number; r4: number; r5: number;
  save: number;
  ok1: number;
  ok2: number;
  nonzero: number;
  target: number;
}

export interface Linked {
  code: Instruction[];
  regs: (number | bigint)[];
  arena: Buffer;
  i32: Int32Array;
  steps: Step[];
  /** How failures from instruction `from` on are written to stderr (see reportOnStderr). */
  stderr?: StderrReport;
}

/**
 * A failure's line, laid out before the fork: the child only indexes these arrays (no
 * string is built, nothing allocates). msg[i] is instruction from+i's "runts: …what",
 * err[e] is ": ENAME: text\n" for errno e (err[0] a bare newline).
 */
export interface StderrReport {
  from: number;
  text: Buffer;
  msgAddr: bigint[];
  msgLen: number[];
  errAddr: bigint[];
  errLen: number[];
}

export interface Arena {
  buffer: Buffer;
  base: bigint;
}

export class Program {
  private chunks: { offset: number; data: Buffer; pointers?: Ptr[]; fields?: { at: number; to: Ptr }[] }[] = [];
  private size = 0;
  private readonly pending: Pending[] = [];
  private readonly registers: Reg[] = [];
  private readonly labels: Label[] = [];
  private stderrFrom = -1;

  /** A NUL-terminated string in the arena. */
  cstr(s: string): Ptr {
    return this.add(Buffer.from(s + '\0', 'utf8'), undefined, s);
  }

  /** Raw bytes in the arena (a struct, a buffer to read into). */
  bytes(data: Buffer | number): Ptr {
    return this.add(typeof data === 'number' ? Buffer.alloc(data) : data);
  }

  /** A NULL-terminated array of pointers (argv, envp). */
  pointerArray(ptrs: Ptr[]): Ptr {
    return this.add(Buffer.alloc(8 * (ptrs.length + 1)), ptrs);
  }

  /** A struct with the addresses of other chunks written in at byte offsets `at` when linked. */
  struct(data: Buffer, fields: { at: number; to: Ptr }[]): Ptr {
    const ptr = this.add(data);
    this.chunks[this.chunks.length - 1].fields = fields;
    return ptr;
  }

  reg(name: string): Reg {
    const r = new Reg(this.registers.length, name);
    this.registers.push(r);
    return r;
  }

  label(name: string): Label {
    const l = new Label(name);
    this.labels.push(l);
    return l;
  }

  place(label: Label): void {
    label.at = this.pending.length;
  }

  sys(
    syscall: SyscallName,
    args: Value[],
    step: Step,
    opts: { save?: Reg; tolerate?: number[]; nonzero?: boolean } = {},
  ): void {
    if (args.length > 6) throw new Error(`${syscall}: more than six arguments`);
    this.pending.push({
      op: OP_SYS, syscall, args, save: opts.save, tolerate: opts.tolerate ?? [],
      nonzero: opts.nonzero ?? false, step,
    });
  }

  /** reg = value: a constant or an address (the executor copies no register). */
  set(reg: Reg, value: number | bigint | Ptr): void {
    this.pending.push({ op: OP_SET, args: [value], save: reg, tolerate: [], nonzero: false, step: { what: `set ${reg.name}` } });
  }

  jump(label: Label): void {
    this.pending.push({ op: OP_JUMP, args: [], tolerate: [], nonzero: false, label, step: { what: `jump ${label.name}` } });
  }

  jumpIfZero(reg: Reg, label: Label): void {
    this.pending.push({ op: OP_JUMP_IF_ZERO, args: [reg], tolerate: [], nonzero: false, label, step: { what: `if ${reg.name} == 0 jump ${label.name}` } });
  }

  jumpIfNegative(reg: Reg, label: Label): void {
    this.pending.push({ op: OP_JUMP_IF_NEGATIVE, args: [reg], tolerate: [], nonzero: false, label, step: { what: `if ${reg.name} < 0 jump ${label.name}` } });
  }

  /** Jumps unless the register's bits under `mask` equal `value` (32-bit values only). */
  jumpIfDifferent(reg: Reg, mask: number, value: number, label: Label): void {
    this.pending.push({
      op: OP_JUMP_IF_DIFFERENT, args: [reg, mask | 0, value | 0], tolerate: [], nonzero: false, label,
      step: { what: `if (${reg.name} & ${mask >>> 0}) != ${value} jump ${label.name}` },
    });
  }

  /** Stores a register's value as int32 number `index` of the arena chunk at `at`. */
  store32(at: Ptr, index: number, reg: Reg): void {
    this.pending.push({ op: OP_STORE32, args: [at, index, reg], tolerate: [], nonzero: false, step: { what: `store ${reg.name}` } });
  }

  /** Loads int32 number `index` of the arena chunk at `at` into a register. */
  load32(reg: Reg, at: Ptr, index: number): void {
    this.pending.push({ op: OP_LOAD32, args: [at, index], save: reg, tolerate: [], nonzero: false, step: { what: `load ${reg.name}` } });
  }

  /** Reports `step` as failed with `errno` and ends the process. */
  fail(step: Step, errno: number): void {
    this.pending.push({ op: OP_FAIL, args: [errno], tolerate: [], nonzero: false, step });
  }

  /** Fails with `step` (no errno) unless the register's bits under `mask` equal `value`. */
  failUnless(reg: Reg, mask: number, value: number, step: Step): void {
    const bad = this.label(`${reg.name} differs`);
    const good = this.label(`${reg.name} as expected`);
    this.jumpIfDifferent(reg, mask, value, bad);
    this.jump(good);
    this.place(bad);
    this.fail(step, 0);
    this.place(good);
  }

  /**
   * From here on nobody reads the report socket any more (start has been asked for, and
   * create has exited): a failure is written as a line to the process's stderr, which is
   * the container's, so the user sees why the container stopped.
   */
  reportOnStderr(): void {
    this.stderrFrom = this.pending.length;
  }

  get length(): number {
    return this.pending.length;
  }

  /** A readable listing, one line per instruction: what the tests and --debug look at. */
  describe(): string[] {
    const show = (v: Value): string => {
      if (v instanceof Ptr) return v.text !== undefined ? JSON.stringify(v.text) : `&${v.offset}`;
      if (v instanceof Reg) return `%${v.name}`;
      return String(v);
    };
    return this.pending.map((p) => {
      switch (p.op) {
        case OP_SYS: {
          let s = `${p.syscall}(${p.args.map(show).join(', ')})`;
          if (p.save) s = `%${p.save.name} = ${s}`;
          if (p.tolerate.length) s += ` tolerate ${p.tolerate.includes(ANY_ERRNO) ? 'any' : p.tolerate.join(',')}`;
          return s;
        }
        case OP_SET:
          return `%${p.save!.name} = ${show(p.args[0])}`;
        case OP_FAIL:
          return `fail ${p.step.what}`;
        default:
          return p.step.what;
      }
    });
  }

  /**
   * Lays out the arena in `alloc`'s memory and resolves addresses, registers and labels.
   * `address` gives the arena's address (koffi in the runtime, a fake base in tests).
   */
  link(address: (b: Buffer) => bigint): Linked {
    const arena = Buffer.alloc(Math.max(8, this.size));
    for (const c of this.chunks) c.data.copy(arena, c.offset);
    const base = address(arena);
    const addr = (p: Ptr) => base + BigInt(p.offset);
    for (const c of this.chunks) {
      c.pointers?.forEach((p, i) => arena.writeBigUInt64LE(addr(p), c.offset + 8 * i));
      c.fields?.forEach((f) => arena.writeBigUInt64LE(addr(f.to), c.offset + f.at));
    }
    for (const l of this.labels) {
      if (l.at < 0) throw new Error(`label ${l.name} never placed`);
    }
    const value = (v: Value | undefined): number | bigint => {
      if (v === undefined || v instanceof Reg) return 0;
      if (v instanceof Ptr) return addr(v);
      return v;
    };
    const regOf = (v: Value | undefined): number => (v instanceof Reg ? v.index : -1);
    const code: Instruction[] = this.pending.map((p) => {
      const a = p.args;
      const ins: Instruction = {
        op: p.op,
        nr: p.syscall ? syscallNumber(p.syscall) : 0,
        a0: value(a[0]), a1: value(a[1]), a2: value(a[2]), a3: value(a[3]), a4: value(a[4]), a5: value(a[5]),
        r0: regOf(a[0]), r1: regOf(a[1]), r2: regOf(a[2]), r3: regOf(a[3]), r4: regOf(a[4]), r5: regOf(a[5]),
        save: p.save ? p.save.index : -1,
        ok1: p.tolerate[0] ?? 0,
        ok2: p.tolerate[1] ?? 0,
        nonzero: p.nonzero ? 1 : 0,
        target: p.label ? p.label.at : -1,
      };
      if (p.op === OP_STORE32 || p.op === OP_LOAD32) {
        // a0: the int32 index in the arena (for a store, r2 names the register to store)
        ins.a0 = (a[0] as Ptr).offset / 4 + (a[1] as number);
      }
      return ins;
    });
    // Registers hold Smis and BigInts. Creating the array with a BigInt in it gives it
    // generic elements from the start, so the child never changes its elements kind.
    const regs: (number | bigint)[] = [0n];
    regs.pop();
    for (let i = 0; i < this.registers.length; i++) regs.push(0);
    const steps = this.pending.map((p) => p.step);
    return {
      code, regs, arena, i32: new Int32Array(arena.buffer, arena.byteOffset, arena.length >> 2), steps,
      stderr: this.stderrFrom < 0 ? undefined : stderrReport(steps, this.stderrFrom, address),
    };
  }

  private add(data: Buffer, pointers?: Ptr[], text?: string): Ptr {
    const offset = this.size;
    this.chunks.push({ offset, data, pointers });
    // 8-byte alignment for pointers and structs
    this.size += (data.length + 7) & ~7;
    return new Ptr(offset, text);
  }
}

/** The highest errno with a line of its own; others print without their text. */
const MAX_ERRNO = 133;

function stderrReport(steps: Step[], from: number, address: (b: Buffer) => bigint): StderrReport {
  const parts: Buffer[] = [];
  let size = 0;
  const place = (line: string): [number, number] => {
    const b = Buffer.from(line, 'utf8');
    parts.push(b);
    size += b.length;
    return [size - b.length, b.length];
  };
  const msgs = steps.slice(from).map((s) => place(`runts: ${s.configPath ? `config.json: ${s.configPath}: ` : ''}${s.what}`));
  const errs = [place('\n')];
  for (let e = 1; e <= MAX_ERRNO; e++) errs.push(place(`: ${errnoName(e)}: ${errnoText(e)}\n`));
  const text = Buffer.concat(parts);
  const base = address(text);
  return {
    from, text,
    msgAddr: msgs.map(([at]) => base + BigInt(at)), msgLen: msgs.map(([, len]) => len),
    errAddr: errs.map(([at]) => base + BigInt(at)), errLen: errs.map(([, len]) => len),
  };
}
