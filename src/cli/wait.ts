import { constants } from 'node:os';
import { libc } from '../sys/libc.js';

/** Signals an interactive user sends to `runts run` or `exec` go on to the process. */
const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'];

/** The exit code of a wait status: the process's own, or 128 + the signal that killed it. */
export function exitCode(status: number): number {
  const sig = status & 0x7f;
  return sig === 0 ? (status >> 8) & 0xff : 128 + sig;
}

/**
 * Waits for a child of this process (the container's init or an exec'd process: both are
 * cloned with CLONE_PARENT) on a worker thread, so the event loop stays free to forward
 * signals. Resolves to its exit code.
 */
export async function waitForwarding(pid: number): Promise<number> {
  const sys = libc();
  const forward = (sig: NodeJS.Signals) => sys.kill(pid, constants.signals[sig]);
  for (const s of FORWARDED) process.on(s, forward);
  const status = Buffer.alloc(4);
  try {
    return await new Promise<number>((resolve) => {
      const again = () =>
        sys.waitpidAsync(pid, status, 0, (_err, r) => {
          if (r === pid) resolve(exitCode(status.readInt32LE(0)));
          else if (r < 0 && sys.errno() === 10) resolve(0);
          else again();
        });
      again();
    });
  } finally {
    for (const s of FORWARDED) process.off(s, forward);
  }
}
