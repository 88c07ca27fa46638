import type { GlobalOptions } from './options.js';
import { resumeContainer } from '../container/pause.js';

export function run(id: string, _flags: unknown, g: GlobalOptions): number {
  resumeContainer(g.root, id);
  return 0;
}
