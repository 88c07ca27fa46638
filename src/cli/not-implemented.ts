import { RuntsError } from '../errors.js';

/** Commands listed for engines' sake whose machinery has not landed yet: an honest refusal. */
export function run(...args: unknown[]): never {
  const name = args[args.length - 1];
  throw new RuntsError(`${String(name)}: not implemented yet in this version of runts`);
}
