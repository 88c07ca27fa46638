import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Hook, Spec } from '../spec/types/config.js';
import { RuntsError } from '../errors.js';
import * as log from '../log.js';
import type { Emitter } from '../program/emit.js';
import type { Label, Ptr, Reg, Step } from '../program/program.js';
import { ANY_ERRNO } from '../program/program.js';
import { ETIMEDOUT } from '../sys/errno.js';
import { O_CLOEXEC, O_TRUNC, O_WRONLY, POLLIN, SIGCHLD, SIGKILL } from '../sys/constants.js';

/**
 * config.json hooks (config.md "POSIX-platform Hooks"). The runtime-namespace ones
 * (prestart, createRuntime, poststart, poststop) run here, from the runtime; the
 * container-namespace ones (createContainer, startContainer) are started by the container
 * init itself, as part of its program, with the state on stdin from a pipe the runtime
 * filled.
 */

export type HookPhase = 'prestart' | 'createRuntime' | 'createContainer' | 'startContainer' | 'poststart' | 'poststop';

/**
 * child_process, loaded when a hook runs: it brings net, streams and dgram along, which
 * every command that may run hooks (delete, kill) would otherwise pay for.
 */
function childProcess(): typeof import('node:child_process') {
  return process.getBuiltinModule('node:child_process');
}

export function hooksOf(spec: Spec, phase: HookPhase): Hook[] {
  return (spec.hooks?.[phase] as Hook[] | undefined) ?? [];
}

/**
 * The time in-container hooks of a phase add to a wait: the sum of their timeouts (the init
 * kills each at its own), or Infinity when one has none. As runc and crun do, a hook
 * without a timeout is waited for as long as it runs: only the config knows how long a
 * hook may need, and the spec makes the limit the hook's `timeout`.
 */
export function hookAllowanceMs(spec: Spec, phase: 'createContainer' | 'startContainer'): number {
  return hooksOf(spec, phase).reduce((ms, h) => ms + (h.timeout === undefined ? Infinity : h.timeout * 1000), 0);
}

function describe(phase: HookPhase, i: number, hook: Hook): string {
  return `${phase} hook ${i} (${hook.path})`;
}

/** A hook's failure as one error: what failed, how, and what the hook said on stderr. */
export function hookError(spec: Spec, phase: HookPhase, i: number, problem: string | undefined, stderr: string | undefined): RuntsError {
  const hook = hooksOf(spec, phase)[i] ?? { path: '?' };
  const said = stderr?.trim();
  const message = `${describe(phase, i, hook)} failed${problem ? `: ${problem}` : ''}${said ? `: ${said}` : ''}`;
  return new RuntsError(message, { configPath: `hooks.${phase}[${i}]` });
}

/** A wait(2) status in words. */
export function waitStatusText(status: number): string {
  if ((status & 0x7f) === 0) return `exit status ${(status >> 8) & 0xff}`;
  const signal = Object.entries(constants.signals).find(([, n]) => n === (status & 0x7f))?.[0];
  return `killed by ${signal ?? `signal ${status & 0x7f}`}`;
}

/**
 * The file in the state directory that takes an in-container hook's stderr, so the runtime
 * can tell why it failed. The runtime makes it writable by the init's user, whichever it is.
 */
export const HOOK_STDERR = 'hook.stderr';

/** What an in-container hook wrote on stderr into the state directory `dir`, its last 4 KiB. */
export function readHookStderr(dir: string): string {
  try {
    return readFileSync(join(dir, HOOK_STDERR), 'utf8').slice(-4096);
  } catch {
    return '';
  }
}

/**
 * What the init writes to exec.fifo instead of its acknowledging byte when a
 * startContainer hook fails: a marker, the hook's index and its wait status (int32 each).
 */
export const START_HOOK_FAILED = -1;
export const START_HOOK_RECORD_BYTES = 12;

/** The status an in-container hook's failure carries when it was killed at its timeout: no wait status is negative. */
export const HOOK_TIMED_OUT = -1;

/** Why an in-container hook failed, from its wait status. */
export function hookProblem(spec: Spec, phase: HookPhase, i: number, status: number): string {
  return status === HOOK_TIMED_OUT ? `timed out after ${hooksOf(spec, phase)[i]?.timeout} s` : waitStatusText(status);
}

export function parseStartHookRecord(buf: Buffer, n: number): { index: number; status: number } | undefined {
  if (n !== START_HOOK_RECORD_BYTES || buf.readInt32LE(0) !== START_HOOK_FAILED) return undefined;
  return { index: buf.readInt32LE(4), status: buf.readInt32LE(8) };
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
      r = childProcess().spawnSync(hook.path, args.slice(1), {
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
    const err = hookError(spec, phase, i, problem, r.stderr);
    if (warnOnly) log.warn(err.op);
    else throw err;
  });
}

/**
 * In the init's program: run each hook of a container-namespace phase as a child with
 * stdin from its pipe and stderr into HOOK_STDERR, wait for it, and fail the setup if it
 * did not exit 0. createContainer hooks run in the container's root, as with runc (the
 * rootfs, before pivot_root). A failing startContainer hook is reported on exec.fifo,
 * which `start` reads: the runtime that created the container is gone by then.
 */
export function emitContainerHooks(
  e: Emitter, spec: Spec, phase: 'createContainer' | 'startContainer', stdinFds: number[],
  report: { stateDirFd: number; fifo?: Reg },
): void {
  const p = e.p;
  const pid = p.reg(`${phase} pid`);
  const status = p.reg(`${phase} status`);
  const stderr = p.reg(`${phase} stderr`);
  const pidfd = p.reg(`${phase} pidfd`);
  const exited = p.reg(`${phase} exited`);
  const statusBuf = p.bytes(8);
  hooksOf(spec, phase).forEach((hook, i) => {
    const step = { what: describe(phase, i, hook), configPath: `hooks.${phase}[${i}]` };
    const child = p.label(`${phase} ${i} child`);
    const done = p.label(`${phase} ${i} done`);
    const failed = p.label(`${phase} ${i} failed`);
    const noStderr = p.label(`${phase} ${i} no stderr file`);
    // Without the file (a state directory from elsewhere) the hook keeps the init's stderr.
    p.sys('openat', [report.stateDirFd, e.str(HOOK_STDERR), O_WRONLY | O_TRUNC | O_CLOEXEC], step, { save: stderr, tolerate: [ANY_ERRNO] });
    // clone(2) as fork, with SIGCHLD so wait4 sees it: not clone3, which the engines'
    // default seccomp profiles answer with ENOSYS, and the filter may be loaded by now.
    // the container's seccomp filter may refuse madvise by now: the clone goes on anyway
    e.markForClone(step, [ANY_ERRNO]);
    p.sys('clone', [SIGCHLD, 0, 0, 0, 0], step, { save: pid });
    p.jumpIfZero(pid, child);
    if (hook.timeout !== undefined) emitHookTimeout(e, hook.timeout, step, { pid, pidfd, exited, status, stderr, statusBuf }, failed);
    p.sys('wait4', [pid, statusBuf, 0, 0], step);
    p.sys('close', [stderr], step, { tolerate: [ANY_ERRNO] });
    p.load32(status, statusBuf, 0);
    p.jumpIfZero(status, done);
    p.place(failed);
    if (report.fifo) {
      const record = Buffer.alloc(START_HOOK_RECORD_BYTES);
      record.writeInt32LE(START_HOOK_FAILED, 0);
      record.writeInt32LE(i, 4);
      const at = p.bytes(record);
      p.store32(at, 2, status);
      p.sys('write', [report.fifo, at, START_HOOK_RECORD_BYTES], step, { tolerate: [ANY_ERRNO] });
    }
    const timedOut = p.label(`${phase} ${i} timed out`);
    p.jumpIfNegative(status, timedOut);
    p.fail({ what: `${describe(phase, i, hook)} failed`, configPath: step.configPath }, 0);
    // ETIMEDOUT tells the runtime which failure this was
    p.place(timedOut);
    p.fail({ what: `${describe(phase, i, hook)} failed`, configPath: step.configPath }, ETIMEDOUT);
    p.place(child);
    p.sys('dup3', [stdinFds[i], 0, 0], step);
    p.jumpIfNegative(stderr, noStderr);
    p.sys('dup3', [stderr, 2, 0], step);
    p.place(noStderr);
    if (phase === 'createContainer') p.sys('fchdir', [e.root], { what: `${describe(phase, i, hook)}: change to the container's root`, configPath: step.configPath });
    const args = hook.args ?? [hook.path];
    p.sys('execve', [e.str(hook.path), p.pointerArray(args.map((a) => e.str(a))), p.pointerArray((hook.env ?? []).map((v) => e.str(v)))], step);
    p.place(done);
  });
}

/**
 * An in-container hook with a timeout: the init waits for its exit on a pidfd with
 * ppoll(2), at most `timeout` seconds, then kills it (SIGKILL, as runc does) and goes to
 * `failed` with the status register at -1, which no wait status is.
 */
function emitHookTimeout(
  e: Emitter, timeout: number, step: Step,
  r: { pid: Reg; pidfd: Reg; exited: Reg; status: Reg; stderr: Reg; statusBuf: Ptr },
  failed: Label,
): void {
  const p = e.p;
  const pollfd = Buffer.alloc(8);
  pollfd.writeInt16LE(POLLIN, 4);
  const pollAt = p.bytes(pollfd);
  const limit = Buffer.alloc(16);
  limit.writeBigInt64LE(BigInt(timeout), 0);
  const expired = p.label(`${step.what} timed out`);
  const ended = p.label(`${step.what} ended in time`);
  p.sys('pidfd_open', [r.pid, 0], step, { save: r.pidfd });
  p.store32(pollAt, 0, r.pidfd);
  p.sys('ppoll', [pollAt, 1, p.bytes(limit), 0, 0], step, { save: r.exited });
  p.sys('close', [r.pidfd], step, { tolerate: [ANY_ERRNO] });
  p.jumpIfZero(r.exited, expired);
  p.jump(ended);
  p.place(expired);
  p.sys('kill', [r.pid, SIGKILL], step, { tolerate: [ANY_ERRNO] });
  p.sys('wait4', [r.pid, r.statusBuf, 0, 0], step);
  p.sys('close', [r.stderr], step, { tolerate: [ANY_ERRNO] });
  p.set(r.status, HOOK_TIMED_OUT);
  p.jump(failed);
  p.place(ended);
}
