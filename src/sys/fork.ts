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
 * JavaScript may allocate never start a collection there: a collection maps pages, which
 * the setup's next clone would not copy unless marked again (Emitter.markForClone), and
 * with V8's helper threads it would wait for threads the child does not have.
 */
let collect = (globalThis as { gc?: (opts: { type: 'minor' }) => void }).gc;

function minorGc(): void {
  // bin/runts exposes gc (scripts/bundle.ts); elsewhere (tests) node:v8 does, at the price
  // of loading Node's streams with it (~6 ms)
  if (!collect) {
    v8().setFlagsFromString('--expose-gc');
    collect = vm.runInNewContext('gc') as typeof collect;
  }
  collect!({ type: 'minor' });
}

/**
 * With --single-threaded (bin/runts always gives it) V8 compiles and collects on the
 * calling thread alone, so what the child compiles it finishes: the interpreter-only
 * switch below is for processes with V8's helper threads (the tests load this module so).
 */
const SINGLE_THREADED = process.execArgv.includes('--single-threaded');

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

/** The addresses a line of /proc/<pid>/maps or smaps maps, when it starts a mapping. */
function spanOf(line: string): [number, number] | undefined {
  const m = /^([0-9a-f]+)-([0-9a-f]+) /.exec(line);
  return m ? [parseInt(m[1], 16), parseInt(m[2], 16)] : undefined;
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
    const span = spanOf(line);
    if (span) {
      range = isSpecial(line) ? undefined : span;
      if (range && flagged === undefined) found.push(range);
    } else if (range && flagged !== undefined && line.startsWith('VmFlags:') && line.includes(flagged)) {
      found.push(range);
    }
  }
  return found;
}

/**
 * The address ranges that hold every mapping a process may have or make, but the special
 * ones (which refuse MADV_DOFORK): from 0 to the top of the map, split around those. A
 * forked setup process marks them with one madvise each before it clones again with a raw
 * clone (Emitter.markForClone): what it mapped since the fork (V8 collects and compiles in it
 * too) would otherwise be missing in its child.
 */
export function doforkRanges(maps = readFileSync('/proc/self/maps', 'latin1')): Array<[number, number]> {
  const special: Array<[number, number]> = [];
  let top = 0;
  for (const line of maps.split('\n')) {
    const range = spanOf(line);
    if (!range) continue;
    if (isSpecial(line)) special.push(range);
    else top = Math.max(top, range[1]);
  }
  const found: Array<[number, number]> = [];
  let from = 0;
  for (const [start, end] of special.sort((a, b) => a[0] - b[0])) {
    if (start >= top) break;
    if (start > from) found.push([from, start]);
    from = Math.max(from, end);
  }
  if (top > from) found.push([from, top]);
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
  if (!SINGLE_THREADED) interpretOnly();
  // The collection may map fresh pages with MADV_DONTFORK: mark after it.
  minorGc();
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
