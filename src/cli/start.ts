import type { GlobalOptions } from './options.js';
import { startContainer } from '../container/start.js';

export function run(id: string, _flags: unknown, g: GlobalOptions): number {
  startContainer(g.root, id);
  return 0;
}
