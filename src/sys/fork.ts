import { readFileSync } from 'node:fs';
import v8 from 'node:v8';
import vm from 'node:vm';
import { libc } from './libc.js';
import { MADV_DOFORK } from './constants.js';
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
    v8.setFlagsFromString('--expose-gc');
    collect = vm.runInNewContext('gc') as typeof collect;
  }
  collect!({ type: 'minor' });
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
    v8.setFlagsFromString(flag);
  }
  interpreting = true;
}

function markAllForFork(): void {
  const { madvise } = libc();
  const maps = readFileSync('/proc/self/maps', 'latin1');
  let start = 0;
  while (start < maps.length) {
    let end = maps.indexOf('\n', start);
    if (end < 0) end = maps.length;
    const line = maps.slice(start, end);
    start = end + 1;
    if (line.endsWith('[vvar]') || line.endsWith('[vsyscall]') || line.endsWith('[vvar_vclock]')) continue;
    const dash = line.indexOf('-');
    const space = line.indexOf(' ');
    if (dash < 0 || space < 0) continue;
    const from = BigInt('0x' + line.slice(0, dash));
    const to = BigInt('0x' + line.slice(dash + 1, space));
    madvise(from, to - from, MADV_DOFORK);
  }
}

/**
 * Forks; the child runs `child`, which must never return and must not allocate: it runs
 * pre-built work only, and ends in execve or exit_group.
 */
export function fork(child: () => never): number {
  interpretOnly();
  // The collection may map fresh pages with MADV_DONTFORK: mark after it.
  minorGc();
  markAllForFork();
  const { fork: sysFork, errno } = libc();
  const pid = sysFork();
  if (pid === 0) child();
  if (pid < 0) throw new RuntsError('fork', { errno: errno() });
  return pid;
}
