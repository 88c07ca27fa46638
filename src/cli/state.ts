import type { GlobalOptions } from './options.js';
import { publicState, readState } from '../container/state.js';
import { writeStdout } from '../log.js';

/**
 * state reads without the container's lock, as runc's does: state.json is only ever
 * replaced whole, and the status is read from /proc at this moment anyway.
 */
export function run(id: string, _flags: unknown, g: GlobalOptions): number {
  const doc = publicState(g.root, readState(g.root, id));
  writeStdout(JSON.stringify(doc, null, 2) + '\n');
  return 0;
}
