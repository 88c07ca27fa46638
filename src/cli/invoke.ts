import { configureLog, debug, error, errors } from '../log.js';
import { RuntsError, RuntsErrors } from '../errors.js';
import { codeCacheOutcomes } from '../sys/code-cache.js';
import { loadedLibc } from '../sys/libc.js';
import { syscallNumber } from '../sys/syscalls.js';
import type { GlobalOptions } from './options.js';

/**
 * Running a parsed command, shared by the two bundles (entry.ts, hot.ts): it imports no
 * command itself, so that the hot bundle holds only the commands it runs.
 */

/** Loads a command's module, only when that command runs. */
export type Loader = () => Promise<{ run: (...args: any[]) => Promise<number | void> | number | void }>;

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

/** Runs a parsed command with its module from `load`; its exit code, when it gives one. */
export async function runCommand(c: Invocation, load: Loader): Promise<number | void> {
  configureLog({ file: c.globals.log, format: c.globals.logFormat, debug: c.globals.debug });
  for (const outcome of codeCacheOutcomes().splice(0)) debug(`code cache ${outcome}`);
  if (ENTERS_CONTAINER.has(c.name)) {
    const callerFds = Number(process.env.RUNTS_CALLER_FDS ?? 0);
    (await import('../setup/sealed-exe.js')).ensureSealedExecutable(Number.isSafeInteger(callerFds) ? callerFds : 0);
  }
  const mod = await load();
  return mod.run(...c.positional, c.opts, c.globals, c.name);
}

/** Runs `command`; the exit code, with any error reported as one line per problem on stderr. */
export async function guarded(command: () => Promise<number | void>): Promise<number> {
  try {
    const code = await command();
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

/**
 * Ends the process with `code`. Every write was synchronous, so nothing is left to do but
 * tear down V8's heap and Node's environment, which costs a command some milliseconds:
 * when libc is loaded anyway, leave at once with exit_group. Otherwise node exits as usual.
 */
export function exit(code: number): void {
  process.exitCode = code;
  const sys = loadedLibc();
  if (sys) sys.syscall(syscallNumber('exit_group'), code, 0, 0, 0, 0, 0);
}
