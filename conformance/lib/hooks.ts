import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Hook } from './config.js';
import { CaseAborted, type Bundle, type CaseContext } from './context.js';
import { sleep } from './proc.js';
import type { State } from './runtime.js';

/** A file only the bundle's rootfs has: a process that sees it has its root there. */
export const ROOT_MARKER = '.conformance-rootfs-marker';

export const HOOK_ENV = ['PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'CONFORMANCE_HOOK=yes'];
export const HOOK_ARGS = ['first arg', 'second'];

/**
 * The body of every hook: it appends its name to hooks.log, keeps the state it reads on
 * stdin, and records where it ran (namespaces, whether the container's root is already
 * the bundle's rootfs, what the container process is running), its arguments and its
 * environment. `dir` is where it writes: the bundle's out/ directory, seen from where the
 * hook runs.
 */
function body(dir: string, name: string, exit: number, sleepSeconds: number, extra: string): string {
  const f = (suffix: string) => `"${dir}/${name}.${suffix}"`;
  return [
    `echo ${name} >> "${dir}/hooks.log"`,
    // A runtime that never closes the hook's stdin must not hang the hook: read for at
    // most 3 s.
    `timeout 3 cat > ${f('json')}`,
    `readlink /proc/self/ns/mnt > ${f('mnt')}`,
    `readlink /proc/self/ns/net > ${f('net')}`,
    `[ -e /${ROOT_MARKER} ] && echo yes > ${f('rootself')} || echo no > ${f('rootself')}`,
    `pid=$(sed -n 's/.*"pid": *\\([0-9][0-9]*\\).*/\\1/p' ${f('json')})`,
    `if [ -n "$pid" ] && [ -d "/proc/$pid" ]; then`,
    `  [ -e "/proc/$pid/root/${ROOT_MARKER}" ] && echo yes > ${f('rootpid')} || echo no > ${f('rootpid')}`,
    `  tr '\\0' ' ' < "/proc/$pid/cmdline" > ${f('cmdline')}`,
    `fi`,
    `for a in "$@"; do echo "$a"; done > ${f('args')}`,
    `env > ${f('env')}`,
    extra,
    // exec, so that aborting the hook process stops the sleep too.
    sleepSeconds > 0 ? `exec sleep ${sleepSeconds}` : `exit ${exit}`,
  ].join('\n');
}

export interface HookOptions {
  exit?: number;
  sleep?: number;
  timeout?: number;
  /** More shell to run before the hook exits. */
  extra?: string;
}

function prepare(b: Bundle): void {
  mkdirSync(b.out, { recursive: true });
  writeFileSync(join(b.rootfs, ROOT_MARKER), '');
}

/** A hook whose path is a script outside the rootfs: it resolves only in the runtime namespace. */
export function hostHook(b: Bundle, name: string, opts: HookOptions = {}): Hook {
  prepare(b);
  const dir = join(b.dir, 'hooks');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.sh`);
  writeFileSync(path, `#!/bin/sh\n${body(b.out, name, opts.exit ?? 0, opts.sleep ?? 0, opts.extra ?? '')}\n`, {
    mode: 0o755,
  });
  return { path, args: [path, ...HOOK_ARGS], env: HOOK_ENV, ...(opts.timeout ? { timeout: opts.timeout } : {}) };
}

/**
 * A hook whose path exists only inside the rootfs, writing to /out: it resolves only in
 * the container namespace. The bundle must have bindOut().
 */
export function containerHook(b: Bundle, name: string, opts: HookOptions = {}): Hook {
  prepare(b);
  const dir = join(b.rootfs, 'conformance-hooks');
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, `${name}.sh`),
    `#!/bin/sh\n${body('/out', name, opts.exit ?? 0, opts.sleep ?? 0, opts.extra ?? '')}\n`,
    {
      mode: 0o755,
    },
  );
  const path = `/conformance-hooks/${name}.sh`;
  return { path, args: [path, ...HOOK_ARGS], env: HOOK_ENV, ...(opts.timeout ? { timeout: opts.timeout } : {}) };
}

/** A program that logs itself in hooks.log before running `then`. */
export function loggingProgram(then: string): string {
  return `echo program >> /out/hooks.log; ${then}`;
}

export interface HookRecord {
  ran: boolean;
  state?: State;
  stdin: string;
  mnt?: string;
  net?: string;
  /** Whether the hook itself saw the rootfs marker at "/". */
  rootSelf?: string;
  /** Whether the container process's root held the rootfs marker when the hook ran. */
  rootPid?: string;
  cmdline?: string;
  args: string[];
  env: string[];
}

export function readHook(b: Bundle, name: string): HookRecord {
  const read = (suffix: string) => {
    const p = join(b.out, `${name}.${suffix}`);
    return existsSync(p) ? readFileSync(p, 'utf8') : undefined;
  };
  const stdin = read('json') ?? '';
  let state: State | undefined;
  try {
    state = JSON.parse(stdin) as State;
  } catch {
    state = undefined;
  }
  return {
    ran: existsSync(join(b.out, `${name}.json`)),
    state,
    stdin,
    mnt: read('mnt')?.trim(),
    net: read('net')?.trim(),
    rootSelf: read('rootself')?.trim(),
    rootPid: read('rootpid')?.trim(),
    cmdline: read('cmdline')?.trim(),
    args: (read('args') ?? '').split('\n').filter((l, i, all) => i < all.length - 1 || l !== ''),
    env: (read('env') ?? '').split('\n').filter(Boolean),
  };
}

/**
 * Waits until hooks.log has `line`: startContainer hooks and the program may still be on
 * their way when start returns. Returns whether it came in time.
 */
export async function logged(t: CaseContext, b: Bundle, line: string, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!hookLog(b).includes(line)) {
    if (t.aborted) throw new CaseAborted('case timed out');
    if (Date.now() > deadline) return false;
    await sleep(25);
  }
  return true;
}

export function hookLog(b: Bundle): string[] {
  const p = join(b.out, 'hooks.log');
  return existsSync(p) ? readFileSync(p, 'utf8').split('\n').filter(Boolean) : [];
}

export type HookKind = 'prestart' | 'createRuntime' | 'createContainer' | 'startContainer' | 'poststart' | 'poststop';
