import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** A runtime under test: its CLI and the state directory it alone uses. */
export interface Runtime {
  name: string;
  path: string;
  root: string;
  version: string;
}

export const DEFAULT_RUNTIMES = ['runts', 'runc', 'crun'];

/** Where to get a runtime that is not there. */
export const INSTALL_HINTS: Record<string, string> = {
  runts: 'build it with `npm run build`',
  runc: 'install it with `apt-get install runc`',
  crun: 'install it with `apt-get install crun`',
};

/** `name` or `name=/path/to/cli`, comma-separated. */
export function parseRuntimeList(list: string): { name: string; path?: string }[] {
  return list
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => {
      const eq = s.indexOf('=');
      return eq < 0 ? { name: s } : { name: s.slice(0, eq), path: s.slice(eq + 1) };
    });
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The CLI to run for `name`: the path given, this checkout's bin/runts, or the first match
 * on PATH. The sbin directories are searched too, where Debian puts runc, since a root
 * shell's PATH does not always have them.
 */
export function locateRuntime(name: string, given: string | undefined, repoRoot: string): string | null {
  if (given !== undefined) return executable(given) ? given : null;
  if (name === 'runts') {
    const bin = join(repoRoot, 'bin', 'runts');
    return executable(bin) ? bin : null;
  }
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin'];
  for (const dir of dirs) {
    if (dir !== '' && executable(join(dir, name))) return join(dir, name);
  }
  return null;
}

/** The first line of `CLI --version`, for the record. */
export function runtimeVersion(path: string, env: NodeJS.ProcessEnv): string {
  const r = spawnSync(path, ['--version'], { encoding: 'utf8', env, timeout: 30_000 });
  return (r.stdout ?? '').split('\n')[0].trim() || 'unknown';
}

/** argv for one of the runtime's commands, with its own state directory. */
export function cli(rt: Runtime, ...args: string[]): string[] {
  return [rt.path, '--root', rt.root, ...args];
}
