import { RuntsError } from '../errors.js';

/** A non-negative integer flag value. */
export function parseCount(value: string, flag: string): number {
  if (!/^\d+$/.test(value)) throw new RuntsError(`${flag}: expected a non-negative integer, got ${JSON.stringify(value)}`);
  return Number(value);
}
