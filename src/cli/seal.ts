/**
 * The entry of the commands that enter a container (create, run, exec; bin/runts picks
 * it): before anything else is loaded, node is re-executed from a read-only clone of its
 * file (src/setup/sealed-exe.ts), straight into the bundle's main.cjs. This process does
 * only that, so the second start of node costs as little as it can.
 */
import { fileURLToPath } from 'node:url';
import { ensureSealedExecutable } from '../setup/sealed-exe.js';
import { requireFrom } from '../sys/require.js';

const callerFds = Number(process.env.RUNTS_CALLER_FDS ?? 0);
const main = fileURLToPath(new URL('./main.cjs', import.meta.url));
try {
  ensureSealedExecutable(Number.isSafeInteger(callerFds) ? callerFds : 0, main);
} catch {
  // The command tries again before it does anything (invoke.ts) and reports the error as
  // every error, on one line in the log format asked for.
}
// Not re-executed: node already runs from a read-only file, or this user may not mount.
requireFrom(import.meta.url)(main);
