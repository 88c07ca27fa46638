import { configureLog, debug } from '../log.js';
import { codeCacheOutcomes } from '../sys/code-cache.js';
import type { GlobalOptions } from './options.js';

/**
 * Each command's implementation lives in its own module and is loaded only when that
 * command runs, so `runts state` does not pay for what `runts create` needs.
 */
type Loader = () => Promise<{ run: (...args: any[]) => Promise<number | void> | number | void }>;

export const COMMANDS: Record<string, Loader> = {
  create: () => import('./create.js'),
  start: () => import('./start.js'),
  state: () => import('./state.js'),
  kill: () => import('./kill.js'),
  delete: () => import('./delete.js'),
  run: () => import('./run.js'),
  exec: () => import('./exec.js'),
  list: () => import('./list.js'),
  ps: () => import('./ps.js'),
  pause: () => import('./pause.js'),
  resume: () => import('./resume.js'),
  update: () => import('./update.js'),
  events: () => import('./events.js'),
  features: () => import('./features.js'),
  spec: () => import('./spec.js'),
  check: () => import('./check.js'),
};

/** Commands whose processes enter a container: they run node from a read-only file (sealed-exe.ts). */
const ENTERS_CONTAINER = new Set(['create', 'run', 'exec']);

/** A parsed command line, whichever parser read it. */
export interface Invocation {
  name: string;
  /** The command's arguments, defaults filled in, as its run() takes them. */
  positional: unknown[];
  /** The command's flags, named as commander names them (`--no-pivot` is `pivot`). */
  opts: Record<string, unknown>;
  globals: GlobalOptions;
}

/** Runs a parsed command; its exit code, when it gives one. */
export async function runCommand(c: Invocation): Promise<number | void> {
  configureLog({ file: c.globals.log, format: c.globals.logFormat, debug: c.globals.debug });
  for (const outcome of codeCacheOutcomes().splice(0)) debug(`code cache ${outcome}`);
  if (ENTERS_CONTAINER.has(c.name)) {
    const callerFds = Number(process.env.RUNTS_CALLER_FDS ?? 0);
    (await import('../setup/sealed-exe.js')).ensureSealedExecutable(Number.isSafeInteger(callerFds) ? callerFds : 0);
  }
  const mod = await COMMANDS[c.name]();
  return mod.run(...c.positional, c.opts, c.globals, c.name);
}
