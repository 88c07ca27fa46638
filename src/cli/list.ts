import { readdirSync } from 'node:fs';
import type { GlobalOptions } from './options.js';
import { publicState, readState } from '../container/state.js';
import { writeStdout } from '../log.js';

type Row = ReturnType<typeof publicState>;

function rows(root: string): Row[] {
  let ids: string[];
  try {
    ids = readdirSync(root).sort();
  } catch {
    return [];
  }
  const out: Row[] = [];
  for (const id of ids) {
    try {
      out.push(publicState(root, readState(root, id)));
    } catch {
      // a container being created or deleted right now
    }
  }
  return out;
}

/** Columns padded like Go's tabwriter in runc's output. */
function table(lines: string[][]): string {
  const widths = lines[0].map((_, c) => Math.max(...lines.map((l) => l[c].length)));
  return lines.map((l) => l.map((cell, c) => (c === l.length - 1 ? cell : cell.padEnd(widths[c] + 3))).join('')).join('\n') + '\n';
}

export function run(flags: { format: 'table' | 'json'; quiet: boolean }, g: GlobalOptions): number {
  const list = rows(g.root);
  if (flags.quiet) {
    writeStdout(list.map((r) => r.id + '\n').join(''));
  } else if (flags.format === 'json') {
    writeStdout(JSON.stringify(list) + '\n');
  } else {
    const lines = [['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER']];
    for (const r of list) lines.push([r.id, String(r.pid), r.status, r.bundle, r.created, r.owner]);
    writeStdout(table(lines));
  }
  return 0;
}
