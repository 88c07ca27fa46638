import type { Linked } from './program.js';
import { Program, OP_SYS, OP_SET, OP_JUMP, OP_JUMP_IF_ZERO, OP_JUMP_IF_NEGATIVE, OP_STORE32, OP_LOAD32, OP_JUMP_IF_DIFFERENT, OP_FAIL, ANY_ERRNO } from './program.js';
import { MSG_ERROR, RECORD_BYTES } from './protocol.js';

export interface ExecutorContext {
  program: Linked;
  syscall: (nr: number, a: number | bigint, b: number | bigint, c: number | bigint, d: number | bigint, e: number | bigint, f: number | bigint) => number;
  errno: () => number;
  /** The socket the runtime reads records from. */
  reportFd: number;
  /** A 12-byte record in the arena, for the error report: int32 index and address. */
  reportIndex: number;
  reportAddress: bigint;
  writeNr: number;
  exitNr: number;
}

/**
 * Runs a linked program in a forked child. It only reads pre-built objects, stores Smis
 * and makes koffi calls: no allocation, so no garbage collection, which would wait forever
 * for V8 helper threads that fork() did not copy. It never returns: the program ends in
 * execve or exit_group, and a failure is reported to the runtime before exit_group(1).
 */
export function execute(ctx: ExecutorContext): never {
  const code = ctx.program.code;
  const regs = ctx.program.regs;
  const i32 = ctx.program.i32;
  const sys = ctx.syscall;
  let pc = 0;
  let failed = 0;
  let err = 0;
  for (;;) {
    const ins = code[pc];
    const op = ins.op;
    if (op === OP_SYS) {
      const r = sys(
        ins.nr,
        ins.r0 < 0 ? ins.a0 : regs[ins.r0],
        ins.r1 < 0 ? ins.a1 : regs[ins.r1],
        ins.r2 < 0 ? ins.a2 : regs[ins.r2],
        ins.r3 < 0 ? ins.a3 : regs[ins.r3],
        ins.r4 < 0 ? ins.a4 : regs[ins.r4],
        ins.r5 < 0 ? ins.a5 : regs[ins.r5],
      );
      if (r < 0) {
        const e = ctx.errno();
        if (ins.ok1 !== ANY_ERRNO && e !== ins.ok1 && e !== ins.ok2) {
          failed = 1;
          err = e;
        }
      } else if (r === 0 && ins.nonzero === 1) {
        failed = 1;
        err = 0;
      }
      if (failed === 1) break;
      if (ins.save >= 0) regs[ins.save] = r;
      pc++;
    } else if (op === OP_SET) {
      regs[ins.save] = ins.a0;
      pc++;
    } else if (op === OP_JUMP) {
      pc = ins.target;
    } else if (op === OP_JUMP_IF_ZERO) {
      pc = regs[ins.r0] === 0 ? ins.target : pc + 1;
    } else if (op === OP_JUMP_IF_NEGATIVE) {
      pc = (regs[ins.r0] as number) < 0 ? ins.target : pc + 1;
    } else if (op === OP_JUMP_IF_DIFFERENT) {
      pc = ((regs[ins.r0] as number) & (ins.a1 as number)) !== ins.a2 ? ins.target : pc + 1;
    } else if (op === OP_STORE32) {
      i32[ins.a0 as number] = regs[ins.r2] as number;
      pc++;
    } else if (op === OP_LOAD32) {
      regs[ins.save] = i32[ins.a0 as number];
      pc++;
    } else if (op === OP_FAIL) {
      err = ins.a0 as number;
      break;
    } else {
      err = 0;
      break;
    }
  }
  const stderr = ctx.program.stderr;
  if (stderr !== undefined && pc >= stderr.from) {
    // the runtime no longer reads the socket, and a write to it would raise SIGPIPE
    const e = err > 0 && err < stderr.errLen.length ? err : 0;
    sys(ctx.writeNr, 2, stderr.msgAddr[pc - stderr.from], stderr.msgLen[pc - stderr.from], 0, 0, 0);
    sys(ctx.writeNr, 2, stderr.errAddr[e], stderr.errLen[e], 0, 0, 0);
    for (;;) sys(ctx.exitNr, 1, 0, 0, 0, 0, 0);
  }
  const at = ctx.reportIndex;
  i32[at] = MSG_ERROR;
  i32[at + 1] = pc;
  i32[at + 2] = err;
  sys(ctx.writeNr, ctx.reportFd, ctx.reportAddress, RECORD_BYTES, 0, 0, 0);
  for (;;) sys(ctx.exitNr, 1, 0, 0, 0, 0, 0);
}

const WARM = new Error('warm');
let warm = false;

/**
 * Runs execute() once in the runtime, on a program that only exits, so that its bytecode
 * exists before any fork: compiling it in the child would allocate in V8's heap there.
 */
export function warmExecutor(): void {
  if (warm) return;
  const p = new Program();
  p.sys('exit_group', [0], { what: 'warm up' });
  const program = p.link(() => 0n);
  const ctx: ExecutorContext = {
    program, syscall: () => { throw WARM; }, errno: () => 0, reportFd: -1, reportIndex: 0, reportAddress: 0n, writeNr: 0, exitNr: 0,
  };
  try {
    execute(ctx);
  } catch (err) {
    if (err !== WARM) throw err;
  }
  warm = true;
}
