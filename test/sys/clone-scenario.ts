import { closeSync, readSync } from 'node:fs';
import { Emitter } from '../../src/program/emit.js';
import { execute, warmExecutor } from '../../src/program/executor.js';
import { ANY_ERRNO } from '../../src/program/program.js';
import { SIGCHLD } from '../../src/sys/constants.js';
import { fork } from '../../src/sys/fork.js';
import { libc } from '../../src/sys/libc.js';
import { syscallNumber } from '../../src/sys/syscalls.js';

/**
 * Run by fork.test.ts in a node of its own, V8 as bin/runts runs it. A forked setup
 * process marks a filled page MADV_DONTFORK, as V8 marks what it maps when it collects or
 * compiles in that process, then clones as the setup does (the init, an exec'd process, a
 * hook) and the clone writes the page to a pipe. With argv[2] "mark" the program first
 * marks its memory for the clone (Emitter.markForClone). Prints what the pipe got and
 * whether a step failed, as JSON.
 */

const MADV_DONTFORK = 10;
const PAGE = 4096;
const mark = process.argv[2] === 'mark';
const sys = libc();

function pipe(): [number, number] {
  const fds = Buffer.alloc(8);
  if (sys.pipe2(fds, 0) < 0) throw new Error('pipe2');
  return [fds.readInt32LE(0), fds.readInt32LE(4)];
}

// a page of its own inside a buffer, filled with what the clone should write
const memory = Buffer.alloc(3 * PAGE);
const offset = Number((BigInt(PAGE) - (sys.address(memory) % BigInt(PAGE))) % BigInt(PAGE));
const page = sys.address(memory) + BigInt(offset);
memory.write('in-page!', offset, 'latin1');

const [outRead, outWrite] = pipe();
const [reportRead, reportWrite] = pipe();
const e = new Emitter(-1);
const p = e.p;
const report = p.bytes(12);
const pid = p.reg('pid');
const child = p.label('clone');
p.sys('madvise', [page, PAGE, MADV_DONTFORK], { what: 'mark a page MADV_DONTFORK' });
if (mark) e.markForClone({ what: 'mark memory for the clone' });
p.sys('clone', [SIGCHLD, 0, 0, 0, 0], { what: 'clone' }, { save: pid });
p.jumpIfZero(pid, child);
p.sys('wait4', [pid, 0, 0, 0], { what: 'wait for the clone' });
p.sys('exit_group', [0], { what: 'exit' });
p.place(child);
// EFAULT when the clone lacks the page: nothing is written
p.sys('write', [outWrite, page, 8], { what: 'write the page' }, { tolerate: [ANY_ERRNO] });
p.sys('exit_group', [0], { what: 'clone exit' });

const program = p.link(sys.address);
warmExecutor();
const intermediate = fork(() => execute({
  program,
  syscall: sys.syscall,
  errno: sys.errno,
  reportFd: reportWrite,
  reportIndex: report.offset / 4,
  reportAddress: sys.address(program.arena) + BigInt(report.offset),
  writeNr: syscallNumber('write'),
  exitNr: syscallNumber('exit_group'),
}));
closeSync(outWrite);
closeSync(reportWrite);
const status = Buffer.alloc(4);
sys.waitpid(intermediate, status, 0);
const read = (fd: number) => {
  const buf = Buffer.alloc(64);
  const n = readSync(fd, buf, 0, 64, null);
  return buf.subarray(0, n);
};
console.log(JSON.stringify({ got: read(outRead).toString('latin1'), failed: read(reportRead).length > 0, status: status.readInt32LE(0) }));
