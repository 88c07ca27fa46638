import type { GlobalOptions } from './options.js';
import { pauseContainer } from '../container/pause.js';

export function run(id: string, _flags: unknown, g: GlobalOptions): number {
  pauseContainer(g.root, id);
  return 0;
}
