import { RuntsError } from '../errors.js';

/** The most fds --preserve-fds may pass: far above any fd limit a process gets. */
export const MAX_PRESERVE_FDS = 1 << 20;

/** A decimal integer flag value in [0, max]; anything else is an error naming the flag. */
export function parseCount(value: string, flag: string, max: number): number {
  if (!/^\d+$/.test(value)) throw new RuntsError(`${flag}: expected a non-negative integer, got ${JSON.stringify(value)}`);
  const n = Number(value);
  if (n > max) throw new RuntsError(`${flag}: ${value} is out of range: at most ${max}`);
  return n;
}
