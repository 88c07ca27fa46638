/**
 * The entry of the commands that enter a container (create, run, exec; bin/runts picks
 * it): before anything else is loaded, node is re-executed from a read-only clone of its
 * file (src/setup/sealed-exe.ts) into this same file, which then runs the whole bundle
 * (entry.ts) with its code cache. The small bundle of the hot commands (main.cjs's first
 * try) never takes these commands, so it is not loaded. Before the re-exec nothing else is
 * loaded, so the node started first costs as little as it can.
 */
import { ensureSealedExecutable } from '../setup/sealed-exe.js';
import { codeCacheOutcomes, requireBundle } from '../sys/code-cache.js';

/** scripts/bundle.ts defines the whole bundle's file name here. */
declare const RUNTS_BUNDLE: string;

const callerFds = Number(process.env.RUNTS_CALLER_FDS ?? 0);
try {
  ensureSealedExecutable(Number.isSafeInteger(callerFds) ? callerFds : 0);
} catch {
  // The command tries again before it does anything (invoke.ts) and reports the error as
  // every error, on one line in the log format asked for.
}
// Not re-executed: node already runs from a read-only file, or this user may not mount.
const entry = requireBundle(RUNTS_BUNDLE, import.meta.url) as typeof import('./entry.js');
entry.start(codeCacheOutcomes());
