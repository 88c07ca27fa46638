import type { GlobalOptions } from './options.js';
import { deleteContainer } from '../container/delete.js';

export function run(id: string, flags: { force: boolean }, g: GlobalOptions): number {
  deleteContainer(g.root, id, flags.force);
  return 0;
}
