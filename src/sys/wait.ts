import { RuntsError } from '../errors.js';
import { libc } from './libc.js';
import { POLLIN, WNOHANG } from './constants.js';
import { EINTR } from './errno.js';

/**
 * How long the runtime waits for the setup processes: every wait on a child, a socket or
 * exec.fifo ends by a deadline, and a deadline reached is an error naming what was waited
 * for, after which the caller removes what it made.
 */

/**
 * A setup step's bound: the setup of a container (1,000 mounts take runc 1.5 s) or of an
 * exec'd process, and the init's answer to start. Far above what any host needs, so that
 * only a setup that cannot go on reaches it.
 */
export const SETUP_TIMEOUT_MS = 60_000;

/**
 * The setup bound in force. RUNTS_SETUP_TIMEOUT_MS exists for tests that provoke the bound:
 * it can only shorten it (a value at or above the bound, or not a positive integer, is
 * ignored), so it can make runts give up sooner but never wait longer.
 */
export function setupTimeoutMs(): number {
  const knob = Number(process.env.RUNTS_SETUP_TIMEOUT_MS);
  return Number.isInteger(knob) && knob > 0 && knob < SETUP_TIMEOUT_MS ? knob : SETUP_TIMEOUT_MS;
}

/** A bound in words: "60 s", "1.5 s". */
export function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(1))} s`;
}

export function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Waits until `fd` is readable (or at its end) or `deadline` (a Date.now() time, Infinity
 * for none) has passed; false when it passed first.
 */
export function readableBy(fd: number, deadline: number): boolean {
  const sys = libc();
  const pfd = Buffer.alloc(8);
  pfd.writeInt32LE(fd, 0);
  pfd.writeInt16LE(POLLIN, 4);
  for (;;) {
    const left = deadline === Infinity ? -1 : Math.max(0, Math.min(deadline - Date.now(), 2 ** 31 - 1));
    const r = sys.poll(pfd, 1, Math.ceil(left));
    if (r > 0) return true;
    if (r < 0 && sys.errno() !== EINTR) throw new RuntsError('poll', { errno: sys.errno() });
    if (r === 0 && Date.now() >= deadline) return false;
  }
}

/** How long a child killed with SIGKILL may take to be reaped. */
const REAP_TIMEOUT_MS = 10_000;

/**
 * Waits for a child of this process to exit, at most `ms`; its wait status, or -1 when it
 * did not exit in time (one frozen in a paused container's cgroup dies only once thawed)
 * or is no child. A child left unreaped is reaped by whoever inherits it when runts exits.
 */
export function reap(pid: number, ms = REAP_TIMEOUT_MS): number {
  const status = Buffer.alloc(4);
  const sys = libc();
  const deadline = Date.now() + ms;
  for (let pause = 0; ; pause = Math.min(Math.max(1, pause * 2), 20)) {
    const r = sys.waitpid(pid, status, WNOHANG);
    if (r === pid) return status.readInt32LE(0);
    if (r < 0 && sys.errno() !== EINTR) return -1;
    if (Date.now() > deadline) return -1;
    sleep(pause);
  }
}
