import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Hook, Spec } from '../spec/types/config.js';
import { RuntsError } from '../errors.js';
import * as log from '../log.js';
import type { Emitter } from '../program/emit.js';

/**
 * config.json hooks (config.md "POSIX-platform Hooks"). The runtime-namespace ones
 * (prestart, createRuntime, poststart, poststop) run here, from the runtime; the
 * container-namespace ones (createContainer, startContainer) are started by the container
 * init itself, as part of its program, with the state on stdin from a pipe the runtime
 * filled.
 */

export type HookPhase = 'prestart' | 'createRuntime' | 'createContainer' | 'startContainer' | 'poststart' | 'poststop';

export function hooksOf(spec: Spec, phase: HookPhase): Hook[] {
  return (spec.hooks?.[phase] as Hook[] | undefined) ?? [];
}

function describe(phase: HookPhase, i: number, hook: Hook): string {
  return `${phase} hook ${i} (${hook.path})`;
}

/**
 * The state as a hook's stdin: an unlinked file holding it. A hook need not read its stdin,
 * and one that exits without reading must not fail for that; written into a pipe, the
 * state would meet EPIPE whenever the hook was quicker.
 */
function stateInput(state: object): number {
  const dir = mkdtempSync(join(tmpdir(), 'runts-hook-'));
  try {
    const file = join(dir, 'state.json');
    writeFileSync(file, JSON.stringify(state), { mode: 0o600 });
    return openSync(file, 'r');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Runs the hooks of one phase in order, each with the state on stdin; only a hook's exit
 * status and its timeout decide whether it failed. A failure throws; with `warnOnly`
 * (poststart, poststop) it is logged and the next hook runs.
 */
export function runHooks(spec: Spec, phase: HookPhase, state: object, warnOnly = false): void {
  hooksOf(spec, phase).forEach((hook, i) => {
    const args = hook.args ?? [hook.path];
    const stdin = stateInput(state);
    let r;
    try {
      r = spawnSync(hook.path, args.slice(1), {
        argv0: args[0] ?? hook.path,
        env: Object.fromEntries((hook.env ?? []).map((v) => [v.slice(0, v.indexOf('=')), v.slice(v.indexOf('=') + 1)])),
        stdio: [stdin, 'pipe', 'pipe'],
        timeout: hook.timeout ? hook.timeout * 1000 : undefined,
        killSignal: 'SIGKILL',
        encoding: 'utf8',
      });
    } finally {
      closeSync(stdin);
    }
    let problem: string | undefined;
    if (r.error) problem = (r.error as NodeJS.ErrnoException).code === 'ETIMEDOUT' ? `timed out after ${hook.timeout} s` : r.error.message;
    else if (r.signal) problem = `killed by ${r.signal}`;
    else if (r.status !== 0) problem = `exit status ${r.status}`;
    if (!problem) return;
    const stderr = r.stderr?.trim();
    const message = `${describe(phase, i, hook)} failed: ${problem}${stderr ? `: ${stderr}` : ''}`;
    if (warnOnly) log.warn(message);
    else throw new RuntsError(message, { configPath: `hooks.${phase}[${i}]` });
  });
}

/**
 * In the init's program: run each hook of a container-namespace phase as a child with
 * stdin from its pipe, wait for it, and fail the setup if it did not exit 0.
 */
export function emitContainerHooks(e: Emitter, spec: Spec, phase: 'createContainer' | 'startContainer', stdinFds: number[]): void {
  const p = e.p;
  const pid = p.reg(`${phase} pid`);
  const status = p.reg(`${phase} status`);
  const statusBuf = p.bytes(8);
  hooksOf(spec, phase).forEach((hook, i) => {
    const step = { what: describe(phase, i, hook), configPath: `hooks.${phase}[${i}]` };
    const child = p.label(`${phase} ${i} child`);
    const done = p.label(`${phase} ${i} done`);
    const cloneArgs = Buffer.alloc(64);
    cloneArgs.writeBigUInt64LE(17n, 32); // exit_signal SIGCHLD, so wait4 sees it
    p.sys('clone3', [p.bytes(cloneArgs), 64], step, { save: pid });
    p.jumpIfZero(pid, child);
    p.sys('wait4', [pid, statusBuf, 0, 0], step);
    p.load32(status, statusBuf, 0);
    p.jumpIfZero(status, done);
    p.fail({ what: `${describe(phase, i, hook)} failed`, configPath: step.configPath }, 0);
    p.place(child);
    p.sys('dup3', [stdinFds[i], 0, 0], step);
    const args = hook.args ?? [hook.path];
    p.sys('execve', [e.str(hook.path), p.pointerArray(args.map((a) => e.str(a))), p.pointerArray((hook.env ?? []).map((v) => e.str(v)))], step);
    p.place(done);
  });
}
