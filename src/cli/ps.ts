import type { GlobalOptions } from './options.js';
import { readState } from '../container/state.js';
import { containerPids } from '../container/processes.js';
import { RuntsError } from '../errors.js';
import { writeStdout } from '../log.js';

/**
 * ps, as runc does it: `--format json` prints the container's pids (containerd's shim
 * reads them); the table is the host's ps(1) output (with `ps-options`, default -ef)
 * filtered to the lines of those pids, header kept.
 */
export function run(id: string, psOptions: string[], flags: { format: 'table' | 'json' }, g: GlobalOptions): number {
  const pids = containerPids(readState(g.root, id));
  if (flags.format === 'json') {
    writeStdout(JSON.stringify(pids) + '\n');
    return 0;
  }
  // loaded here, not above: child_process brings net, streams and dgram along
  const { spawnSync } = process.getBuiltinModule('node:child_process');
  const ps = spawnSync('ps', psOptions.length ? psOptions : ['-ef'], { encoding: 'utf8' });
  if (ps.error) throw RuntsError.fromNode('run ps', ps.error);
  if (ps.status !== 0) throw new RuntsError(`ps ${psOptions.join(' ')} exited ${ps.status}: ${(ps.stdout + ps.stderr).trim()}`);
  const [header, ...lines] = ps.stdout.split('\n');
  const column = header.trim().split(/\s+/).indexOf('PID');
  if (column < 0) throw new RuntsError('couldn\'t find PID field in ps output');
  const wanted = new Set(pids);
  const kept = lines.filter((l) => l.trim() !== '' && wanted.has(Number(l.trim().split(/\s+/)[column])));
  writeStdout([header, ...kept].map((l) => `${l}\n`).join(''));
  return 0;
}
