import { error, errors } from '../log.js';
import { RuntsError, RuntsErrors } from '../errors.js';
import { runCommand } from './commands.js';
import { parseHotCommand } from './fast-args.js';

/**
 * runts' command line: argv as process.argv gives it; the exit code. The commands engines
 * call most are read by a small parser of their own (fast-args.ts); everything else —
 * help, usage errors, the other commands — by commander, loaded only then.
 */
export async function main(argv: string[]): Promise<number> {
  try {
    const hot = parseHotCommand(argv.slice(2));
    if (!hot) return await (await import('./program.js')).runWithCommander(argv);
    const code = await runCommand(hot);
    return typeof code === 'number' ? code : 0;
  } catch (err) {
    if (err instanceof RuntsErrors) {
      errors(err.errors.map((e) => e.message));
      return 1;
    }
    if (err instanceof RuntsError) {
      error(err.message);
      return 1;
    }
    error(err instanceof Error ? (process.env.RUNTS_TRACE ? String(err.stack) : err.message) : String(err));
    return 1;
  }
}
