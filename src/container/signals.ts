import { constants } from 'node:os';
import { RuntsError } from '../errors.js';

/**
 * A signal given as a name (with or without SIG) or a number, as runc accepts it. 0 sends
 * nothing and only checks that the process exists (kill(2)): engines probe liveness so.
 */
export function parseSignal(s: string): number {
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    if (n >= 0 && n <= 64) return n;
  } else {
    const name = s.toUpperCase().startsWith('SIG') ? s.toUpperCase() : `SIG${s.toUpperCase()}`;
    const n = (constants.signals as Record<string, number>)[name];
    if (n !== undefined) return n;
    const rt = /^SIGRTMIN(?:\+(\d+))?$|^SIGRTMAX(?:-(\d+))?$/.exec(name);
    if (rt) {
      const v = rt[1] !== undefined || name.startsWith('SIGRTMIN') ? 34 + Number(rt[1] ?? 0) : 64 - Number(rt[2] ?? 0);
      if (v >= 34 && v <= 64) return v;
    }
  }
  throw new RuntsError(`invalid signal: ${s}`);
}
