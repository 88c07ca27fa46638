import { readFileSync } from 'node:fs';
import { posix } from 'node:path';
import type { Problem } from './messages.js';

/**
 * What execve(2) will take of a process's arguments and environment, checked before
 * anything is made: past the kernel's limits the container would be built, started and
 * then fail in its last system call. The rules are fs/exec.c's (bprm_stack_limits,
 * copy_strings).
 */

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** MAX_ARG_STRLEN: the longest string execve copies, its NUL included (32 pages). */
export const MAX_ARG_STRLEN = 131072;
/** ARG_MAX: what execve takes whatever the stack limit (32 pages). */
const ARG_MAX = 131072;
/** _STK_LIM / 4 * 3: what execve takes at most, however large the stack limit. */
const STK_LIM_SHARE = ((8 * 1024 * 1024) / 4) * 3;

/** Where execve may find args[0]: as given when it has a slash, else along PATH. */
export function execCandidates(arg0: string, env: string[] = []): string[] {
  if (arg0.includes('/')) return [arg0];
  const pathVar = [...env].reverse().find((v) => v.startsWith('PATH='))?.slice(5) ?? DEFAULT_PATH;
  return pathVar.split(':').map((dir) => posix.join(dir === '' ? '.' : dir, arg0));
}

/** The runtime's own soft RLIMIT_STACK, which its setup processes inherit (Infinity: unlimited). */
function runtimeStackLimit(): number {
  try {
    const line = /^Max stack size\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'latin1'));
    if (line) return line[1] === 'unlimited' ? Infinity : Number(line[1]);
  } catch {
    // no /proc: the kernel's default
  }
  return 8 * 1024 * 1024;
}

/** The soft RLIMIT_STACK the process will exec with: its own process.rlimits entry, else the runtime's. */
function stackLimit(rlimits: unknown): number {
  const own = (Array.isArray(rlimits) ? rlimits : []).find(
    (r) => typeof r === 'object' && r !== null && (r as { type?: unknown }).type === 'RLIMIT_STACK',
  ) as { soft?: unknown } | undefined;
  if (typeof own?.soft === 'number') {
    // RLIM_INFINITY is (u64)-1; anything near it means unlimited
    return own.soft >= 2 ** 63 ? Infinity : own.soft;
  }
  return runtimeStackLimit();
}

function bytes(s: string): number {
  return Buffer.byteLength(s, 'utf8') + 1;
}

/**
 * The problem, if any, with the size of `process.args` and `process.env` as a whole (each
 * string's own length is checked with the other lengths): strings, their NULs, their
 * pointers and the path of the executable, against the limit bprm_stack_limits sets.
 */
export function execArgumentsProblem(proc: Record<string, unknown>): Problem | undefined {
  const strings = (v: unknown) => (Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : []);
  const args = strings(proc.args);
  const env = strings(proc.env);
  if (args.length === 0) return undefined;
  const stack = stackLimit(proc.rlimits);
  const limit = Math.max(Math.min(STK_LIM_SHARE, Math.floor(stack / 4)), ARG_MAX);
  const sum = (list: string[]) => list.reduce((n, s) => n + bytes(s), 0);
  const argBytes = sum(args);
  const envBytes = sum(env);
  // The executable's path is copied first; along PATH it is one of the candidates.
  const filename = Math.max(...execCandidates(args[0], env).map(bytes));
  const pointers = 8 * (args.length + env.length);
  const total = argBytes + envBytes + filename + pointers;
  if (total <= limit) return undefined;
  return {
    path: `process.${envBytes > argBytes ? 'env' : 'args'}`,
    message:
      `${args.length} arguments and ${env.length} variables take ${total} bytes with their pointers: more than the ` +
      `${limit} execve(2) takes with a stack limit (RLIMIT_STACK) of ${stack === Infinity ? 'unlimited' : stack}`,
  };
}
