import t from 'tap';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cacheOf, codeCacheOutcomes, requireCached, writeCodeCache, compiledScripts } from '../../src/sys/code-cache.js';
import { REPO_ROOT, RUNTS } from '../helpers/containers.js';

/** V8's code cache: used by the runtime as built, and never one that others could have written. */

const env = { ...process.env };
delete env.NODE_EXTRA_CA_CERTS;

function tempDir(t: { teardown: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'runts-cache-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test('the build leaves a cache beside each file of code, named by its hash', async (t) => {
  const files = readdirSync(join(REPO_ROOT, 'dist', 'bundle'));
  for (const stem of ['runts', 'hot', 'validators', 'unknown-properties']) {
    const code = files.find((f) => new RegExp(`^${stem}-[0-9a-f]{16}\\.cjs$`).test(f));
    t.ok(code, `${stem}-<hash>.cjs`);
    t.ok(code && files.includes(code.replace(/\.cjs$/, '.cache')), `${stem}-<hash>.cache`);
  }
});

t.test('V8 accepts the bundle\'s and the validators\' caches in a real command', async (t) => {
  const dir = tempDir(t);
  mkdirSync(join(dir, 'rootfs'));
  // a config the schema rejects: create stops after validating, before anything is built
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ociVersion: '1.3.0', root: { path: 'rootfs' }, process: 5 }));
  // check validates as create does, and forks nothing: it compiles with the caches
  const r = spawnSync(RUNTS, ['--root', join(dir, 'state'), '--debug', 'check', '--bundle', dir], { env, encoding: 'utf8' });
  t.equal(r.status, 1, 'the config is refused');
  t.match(r.stdout + r.stderr, /process/, 'for its process');
  t.match(r.stderr, /debug: code cache \S+\/runts-[0-9a-f]{16}\.cache: accepted/);
  t.match(r.stderr, /debug: code cache \S+\/validators-[0-9a-f]{16}\.cache: accepted/);
  t.notMatch(r.stderr, /rejected|ignored/);
  // create too, after it re-executes node from a read-only file
  const c = spawnSync(RUNTS, ['--root', join(dir, 'state'), '--debug', 'create', '--bundle', dir, 'cache-probe'], { env, encoding: 'utf8' });
  t.equal(c.status, 1);
  t.match(c.stderr, /debug: code cache \S+\/runts-[0-9a-f]{16}\.cache: accepted/);
  t.notMatch(c.stderr, /rejected|ignored/);
  // state runs from the small bundle of the hot commands
  const s = spawnSync(RUNTS, ['--root', join(dir, 'state'), '--debug', 'state', 'cache-probe'], { env, encoding: 'utf8' });
  t.equal(s.status, 1, 'no such container');
  t.match(s.stderr, /debug: code cache \S+\/hot-[0-9a-f]{16}\.cache: accepted/);
  t.notMatch(s.stderr, /runts-[0-9a-f]{16}\.cache/, 'without loading the whole bundle');
});

t.test('a cache anyone but root or this user could write is not read', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'probe.cjs');
  writeFileSync(file, 'module.exports = { answer: () => 6 * 7 };\n');
  t.equal((requireCached(file) as { answer: () => number }).answer(), 42);
  writeCodeCache(file, compiledScripts().get(file)!);
  codeCacheOutcomes().splice(0);
  requireCached(file);
  t.same(codeCacheOutcomes().splice(0), [`${cacheOf(file)}: accepted`], 'the cache as written');

  chmodSync(cacheOf(file), 0o666);
  t.equal((requireCached(file) as { answer: () => number }).answer(), 42, 'the code still runs');
  t.match(codeCacheOutcomes().splice(0), [/probe\.cache: ignored/], 'world-writable: ignored');
  chmodSync(cacheOf(file), 0o664);
  requireCached(file);
  t.match(codeCacheOutcomes().splice(0), [/probe\.cache: ignored/], 'group-writable: ignored');
  chmodSync(cacheOf(file), 0o644);
  chownSync(cacheOf(file), 65534, 65534);
  requireCached(file);
  t.match(codeCacheOutcomes().splice(0), [/probe\.cache: ignored/], 'owned by another user: ignored');
});

t.test('a cache for other code is rejected, and the code runs as written', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'probe.cjs');
  writeFileSync(file, 'module.exports = 1;\n');
  requireCached(file);
  writeCodeCache(file, compiledScripts().get(file)!);
  // other code of another length: V8 checks the source it was made for
  writeFileSync(file, 'module.exports = 1 + 1;\n');
  codeCacheOutcomes().splice(0);
  t.equal(requireCached(file), 2);
  t.same(codeCacheOutcomes().splice(0), [`${cacheOf(file)}: rejected by V8`]);
});
