import type { Loader } from './invoke.js';

/**
 * Each command's implementation lives in its own module and is loaded only when that
 * command runs, so `runts state` does not pay for what `runts create` needs.
 */
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
  checkpoint: () => import('./checkpoint.js'),
  restore: () => import('./restore.js'),
};
