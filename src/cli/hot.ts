import { codeCacheOutcomes } from '../sys/code-cache.js';
import { parseHotCommand } from './fast-args.js';
import { exit, guarded, runCommand, type Loader } from './invoke.js';

/**
 * The small bundle (hot-<hash>.cjs) that runs state, start, kill and delete, the commands
 * engines call most and that do least: about a tenth of the code of the whole bundle
 * (entry.ts), which is what a Node start pays most for reading and compiling.
 */
const HOT: Record<string, Loader> = {
  state: () => import('./state.js'),
  start: () => import('./start.js'),
  kill: () => import('./kill.js'),
  delete: () => import('./delete.js'),
};

/** Runs the command line when it is one of these; false (nothing done) otherwise. */
export function start(outcomes: string[]): boolean {
  const hot = parseHotCommand(process.argv.slice(2));
  if (!hot || !Object.hasOwn(HOT, hot.name)) return false;
  codeCacheOutcomes().push(...outcomes);
  void guarded(() => runCommand(hot, HOT[hot.name])).then(exit);
  return true;
}

/** For the build's code cache (see entry.ts): the parser and the four commands' modules. */
export async function warm(): Promise<void> {
  for (const line of [['--root', '/r', 'state', 'x'], ['kill', '--all', 'x', 'KILL'], ['delete', '--force', 'x'], ['start', 'x']]) {
    parseHotCommand(line);
  }
  for (const load of Object.values(HOT)) await load();
}
