import { COMMANDS } from './commands.js';
import { parseHotCommand } from './fast-args.js';
import { guarded, runCommand } from './invoke.js';

/**
 * runts' command line: argv as process.argv gives it; the exit code. The commands engines
 * call most are read by a small parser of their own (fast-args.ts); everything else —
 * help, usage errors, the other commands — by commander, loaded only then.
 */
export function main(argv: string[]): Promise<number> {
  return guarded(async () => {
    const hot = parseHotCommand(argv.slice(2));
    if (!hot) return (await import('./program.js')).runWithCommander(argv);
    return runCommand(hot, COMMANDS[hot.name]);
  });
}
