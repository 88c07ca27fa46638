import { closeSync, constants, fstatSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import { requireFrom } from './require.js';

/**
 * CommonJS files run with V8's code cache: the bytecode `npm run build` compiled for them
 * (scripts/code-cache.ts), so a start of runts does not parse and compile the same
 * megabyte of JavaScript again. A cache is code the runtime runs, so only one that
 * nobody but root or this user can have written is read: a regular file, owned by either,
 * not writable by group or others, under the root-owned install. Its name comes from the
 * file it belongs to, and the build names that file by a hash of its content, so a cache
 * never meets another version of the code. V8 itself rejects a cache made by another
 * V8, with other flags, or for a source of another length; the file then compiles as usual.
 * runts runs V8 with `--single-threaded` (bin/runts), and the build makes the caches so.
 */

const HEAD = '(function (exports, require, module, __filename, __dirname) { ';
const TAIL = '\n})';

/** The cache of a `.cjs` file: same name, `.cache`. */
export function cacheOf(file: string): string {
  return file.replace(/\.cjs$/, '') + '.cache';
}

const compiled = new Map<string, vm.Script>();
const outcomes: string[] = [];

/** What became of each cache this process looked for, for --debug. */
export function codeCacheOutcomes(): string[] {
  return outcomes;
}

/** The scripts compiled in this process, by file: the build writes their caches. */
export function compiledScripts(): Map<string, vm.Script> {
  return compiled;
}

function trustedCache(path: string): Buffer | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    return undefined;
  }
  try {
    const st = fstatSync(fd);
    const owner = st.uid === 0 || st.uid === process.geteuid!();
    if (!st.isFile() || !owner || (st.mode & 0o022) !== 0) {
      outcomes.push(`${path}: ignored, not a file only its owner (root or this user) can write`);
      return undefined;
    }
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** require() of a CommonJS file, compiled with its code cache when there is a trusted one. */
export function requireCached(file: string): unknown {
  const source = readFileSync(file, 'utf8');
  const cachePath = cacheOf(file);
  const cachedData = trustedCache(cachePath);
  const script = new vm.Script(HEAD + source + TAIL, { filename: file, cachedData });
  if (cachedData) outcomes.push(`${cachePath}: ${script.cachedDataRejected ? 'rejected by V8' : 'accepted'}`);
  compiled.set(file, script);
  const module = { exports: {} as unknown };
  const wrapper = script.runInThisContext() as (...args: unknown[]) => void;
  wrapper.call(module.exports, module.exports, requireFrom(file), module, file, dirname(file));
  return module.exports;
}

/** requireCached() of a bundle file named relative to `base`, the URL of the file asking. */
export function requireBundle(name: string, base: string): unknown {
  return requireCached(fileURLToPath(new URL(name, base)));
}

/**
 * Writes a script's code cache beside its file: to a temporary name first, then renamed
 * over, so a reader sees a whole cache or none.
 */
export function writeCodeCache(file: string, script: vm.Script): number {
  const data = script.createCachedData();
  const path = cacheOf(file);
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, data, { mode: 0o644, flag: 'wx' });
  renameSync(temporary, path);
  return data.length;
}
