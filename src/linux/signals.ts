import type { Emitter } from '../program/emit.js';
import { NSIG, SIG_SETMASK } from '../sys/constants.js';
import { EINVAL } from '../sys/errno.js';

/**
 * Node installs handlers (and ignores SIGPIPE and SIGXFSZ); a forked child would still run
 * them or pass them on through execve. Every disposition goes back to SIG_DFL and the mask
 * is emptied, first thing in the child. SIGKILL and SIGSTOP answer EINVAL, as does any
 * number the kernel reserves.
 */
export function emitResetSignals(e: Emitter): void {
  const dfl = e.p.bytes(32);
  const empty = e.p.bytes(8);
  const step = { what: 'reset signal dispositions' };
  for (let sig = 1; sig <= NSIG; sig++) {
    e.p.sys('rt_sigaction', [sig, dfl, 0, 8], step, { tolerate: [EINVAL] });
  }
  e.p.sys('rt_sigprocmask', [SIG_SETMASK, empty, 0, 8], { what: 'unblock all signals' });
}
