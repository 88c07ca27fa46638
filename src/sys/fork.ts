import { closeSync, readFileSync, writeSync } from 'node:fs';
import vm from 'node:vm';
import { libc } from './libc.js';
import { MADV_DOFORK, O_CLOEXEC, SIGKILL } from './constants.js';
import { syscallNumber } from './syscalls.js';
import { RuntsError } from '../errors.js';

/**
 * fork(2) from the multithreaded Node process.
 *
 * glibc's fork() (not a raw clone) so that malloc's locks are reset in the child. V8 marks
 * its heap MADV_DONTFORK, which would leave the child without it: every mapping is set
 * back to MADV_DOFORK first ([vvar] refuses, gaps answer ENOMEM; both are harmless).
 * A minor GC empties the young generation just before, so that the few bytes the child's
 * JavaScript may allocate never start a collection: a collection would wait for helper
 * threads that do not exist in the child.
 */
let collect: ((opts?: { type: 'minor' | 'major' }) => void) | undefined;

function minorGc(): void {
  if (!collect) {
    v8().setFlagsFromString('--expose-gc');
    collect = vm.runInNewContext('gc') as typeof collect;
  }
  collect!({ type: 'minor' });
}

/**
 * With --single-threaded (bin/runts always gives it) V8 compiles and collects on the
 * calling thread alone, so the child can do both: neither the interpreter-only switch nor
 * the collection below is needed. Other hosts of this module (tests) run with helper threads.
 */
const SINGLE_THREADED = process.execArgv.includes('--single-threaded');

/**
 * node:v8 only where V8 runs with helper threads: loading it loads Node's streams with it
 * (~6 ms of every create).
 */
function v8(): typeof import('node:v8') {
  return process.getBuiltinModule('node:v8');
}

/**
 * The child's JavaScript must never hand work to another V8 thread: fork() copies only
 * the calling thread, so a task queued for a compiler or GC thread is never done, and the
 * child waits for it forever (seen: a concurrent on-stack-replacement compile of the
 * executor's loop, when a program of some thousand steps kept it hot). So before the
 * first fork V8 stops compiling beyond its interpreter, which works on the calling thread
 * alone; the child runs bytecode compiled in the parent beforehand (warmExecutor). The
 * runtime process keeps the setting; what it runs after forking is short.
 */
let interpreting = false;

function interpretOnly(): void {
  if (interpreting) return;
  for (const flag of ['--no-use-osr', '--no-opt', '--no-maglev', '--no-sparkplug', '--no-concurrent-recompilation']) {
    v8().setFlagsFromString(flag);
  }
  interpreting = true;
}

/** Sets every mapping back to MADV_DOFORK; returns the map it marked. */
function markAllForFork(): string {
  const { madvise } = libc();
  const maps = readFileSync('/proc/self/maps', 'latin1');
  for (const [from, to] of ranges(maps)) madvise(from, to - from, MADV_DOFORK);
  return maps;
}

function isSpecial(line: string): boolean {
  return line.endsWith('[vvar]') || line.endsWith('[vsyscall]') || line.endsWith('[vvar_vclock]');
}

/** The address ranges of a /proc/<pid>/maps or smaps text, special mappings left out. */
function ranges(text: string, flagged?: string): Array<[number, number]> {
  const found: Array<[number, number]> = [];
  let range: [number, number] | undefined;
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const line = text.slice(start, end);
    start = end + 1;
    const m = /^([0-9a-f]+)-([0-9a-f]+) /.exec(line);
    if (m) {
      range = isSpecial(line) ? undefined : [parseInt(m[1], 16), parseInt(m[2], 16)];
      if (range && flagged === undefined) found.push(range);
    } else if (range && flagged !== undefined && line.startsWith('VmFlags:') && line.includes(flagged)) {
      found.push(range);
    }
  }
  return found;
}

/**
 * Whether the child got every mapping. V8's threads reserve heap pages with MADV_DONTFORK
 * ("dc" in smaps) at any time, so one may appear between the marking and the fork, and the
 * child would fault on it (seen: SIGSEGV in V8's code reading a heap page, the setup's
 * error report lost). `after`, read just after the fork, holds every mapping the fork
 * copied or left out: when it equals the map that was marked, none is new; else no
 * mapping marked "dc" now may lie where `after` has one (mappings made since, and merged
 * with one made before, are counted too: that errs on the safe side).
 */
function copiedWhole(marked: string, after: string): boolean {
  if (after === marked) return true;
  const existed = ranges(after);
  return !ranges(readFileSync('/proc/self/smaps', 'latin1'), ' dc').some(([from, to]) => existed.some(([f, t]) => f < to && from < t));
}

const FORK_ATTEMPTS = 50;

/**
 * Forks; the child runs `child`, which must never return and must not allocate: it runs
 * pre-built work only, and ends in execve or exit_group. The child starts only once the
 * parent has checked that it got all of the parent's memory; a child that may not have is
 * killed before it does anything, and the fork is tried again.
 */
export function fork(child: () => never): number {
  if (!SINGLE_THREADED) {
    interpretOnly();
    // The collection may map fresh pages with MADV_DONTFORK: mark after it.
    minorGc();
  }
  const sys = libc();
  const gate = Buffer.alloc(8);
  const gateAddress = sys.address(gate);
  const readNr = syscallNumber('read');
  const closeNr = syscallNumber('close');
  const exitNr = syscallNumber('exit_group');
  for (let attempt = 1; ; attempt++) {
    if (sys.pipe2(gate, O_CLOEXEC) < 0) throw new RuntsError('pipe2', { errno: sys.errno() });
    const wait = gate.readInt32LE(0);
    const release = gate.readInt32LE(4);
    const marked = markAllForFork();
    const pid = sys.fork();
    if (pid === 0) {
      // Only system calls until the parent's word: the child's memory may be incomplete.
      // EOF (the parent died, or found a mapping missing) ends it.
      sys.syscall(closeNr, release, 0, 0, 0, 0, 0);
      if (sys.syscall(readNr, wait, gateAddress, 1, 0, 0, 0) !== 1) for (;;) sys.syscall(exitNr, 1, 0, 0, 0, 0, 0);
      sys.syscall(closeNr, wait, 0, 0, 0, 0, 0);
      child();
    }
    const errno = sys.errno();
    const after = pid > 0 ? readFileSync('/proc/self/maps', 'latin1') : '';
    closeSync(wait);
    if (pid < 0) {
      closeSync(release);
      throw new RuntsError('fork', { errno });
    }
    if (copiedWhole(marked, after)) {
      writeSync(release, GO);
      closeSync(release);
      return pid;
    }
    closeSync(release);
    sys.kill(pid, SIGKILL);
    sys.waitpid(pid, null, 0);
    if (attempt === FORK_ATTEMPTS) throw new RuntsError(`fork: the child's memory was incomplete ${FORK_ATTEMPTS} times`);
  }
}

const GO = Buffer.from([1]);
