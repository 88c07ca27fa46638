import type { GlobalOptions } from './options.js';
import { killContainer } from '../container/kill.js';
import { parseSignal } from '../container/signals.js';

export function run(id: string, signal: string, flags: { all: boolean }, g: GlobalOptions): number {
  killContainer(g.root, id, parseSignal(signal), flags.all);
  return 0;
}
