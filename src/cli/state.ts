import type { GlobalOptions } from './main.js';
import { publicState, readState } from '../container/state.js';
import { withLock } from '../container/lock.js';
import { writeStdout } from '../log.js';

export function run(id: string, _flags: unknown, g: GlobalOptions): number {
  const doc = withLock(g.root, id, () => publicState(g.root, readState(g.root, id)));
  writeStdout(JSON.stringify(doc, null, 2) + '\n');
  return 0;
}
