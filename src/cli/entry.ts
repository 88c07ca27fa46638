import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { codeCacheOutcomes, compiledScripts } from '../sys/code-cache.js';
import { COMMANDS } from './commands.js';
import { parseHotCommand } from './fast-args.js';
import { exit } from './invoke.js';
import { main } from './run-cli.js';

/**
 * The whole bundle's entry (dist/bundle/main.cjs loads it, loader.ts, when hot.ts does
 * not take the command). `start` runs the command line; `warm` is for the build, which
 * runs it before it saves the bundle's code cache.
 */

/** Runs runts; `outcomes` are the loader's code cache notes, for --debug. */
export function start(outcomes: string[]): void {
  codeCacheOutcomes().push(...outcomes);
  void main(process.argv).then(exit);
}

/**
 * Runs, without touching the system, the code every command runs first — both parsers,
 * each command's module, the validators on a default config — so that the code cache the
 * build saves holds it compiled. The scripts compiled on the way (the generated
 * validators) are returned for their caches.
 */
export async function warm(): Promise<Map<string, import('node:vm').Script>> {
  for (const line of [['--root', '/r', 'state', 'x'], ['kill', '--all', 'x', 'KILL'], ['delete', '--force', 'x'],
    ['create', '--bundle', '/b', '--pid-file', '/p', 'x'], ['run', '-d', 'x'], ['exec', '-e', 'A=1', 'x', 'true'], ['start', 'x']]) {
    parseHotCommand(line);
  }
  // imported here, not above: the bundle loads a module's dependencies when it is first imported
  (await import('./program.js')).buildProgram().helpInformation();
  for (const load of Object.values(COMMANDS)) await load();
  const { findUnknownProperties, loadBundleConfig } = await import('../spec/validate.js');
  const dir = mkdtempSync(join(tmpdir(), 'runts-warm-'));
  try {
    mkdirSync(join(dir, 'rootfs'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify((await import('./spec.js')).defaultSpec()));
    findUnknownProperties(loadBundleConfig(dir));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return compiledScripts();
}
