import { build, type BuildOptions } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireCached, writeCodeCache } from '../src/sys/code-cache.js';

/**
 * Bundles the compiled CLI into dist/bundle as CommonJS, which Node loads without its ESM
 * loader: one file holding every command (runts-<hash>.cjs; a command's modules run only
 * when it is used), the small main.cjs that bin/runts starts, and seal.cjs for the
 * commands that enter a container. Reading one file is cheaper for a Node start than
 * resolving some eighty small modules. state, start, kill and delete run from a bundle of
 * their own, hot-<hash>.cjs, a tenth of the size. koffi and ajv stay outside; the
 * ahead-of-time validators sit beside the bundle. Files that carry code the runtime compiles are named
 * by a hash of their content, and the build saves V8's code cache for each beside it
 * (src/sys/code-cache.ts), made after a warm-up that runs the code every command needs.
 */
const root = fileURLToPath(new URL('../../', import.meta.url));

/**
 * The V8 flags every runts process runs with (bin/runts reads them from dist/node). One
 * thread: a process that forks setup processes must not have V8 threads mapping heap pages
 * meanwhile (src/sys/fork.ts). Lite mode: interpreter only, lazily allocated feedback, no
 * executable memory: some 6 MiB less for create and run, the same time for the configs
 * engines write (a config of 100,000 mounts validates 3x slower). Node 20 then warns on
 * every later flag change unless WebAssembly is off by flag, which Node 24 no longer
 * accepts: the build asks the node it runs on. gc exposed: fork() empties the young
 * generation before it forks (src/sys/fork.ts). The code caches hold only for these flags,
 * so the build runs under them too.
 */
function v8Flags(): string[] {
  // Node 24 refuses --no-expose-wasm and still warned now and then in lite mode (seen in
  // the rootless tests' output): lite mode only where WebAssembly can be switched off.
  const wasmOff = spawnSync(process.execPath, ['--no-expose-wasm', '-e', '0'], { stdio: 'ignore' }).status === 0;
  return [...(wasmOff ? ['--single-threaded', '--lite-mode', '--no-expose-wasm'] : ['--single-threaded']), '--expose-gc'];
}

const flags = v8Flags();
if (flags.join(' ') !== process.execArgv.join(' ')) {
  const r = spawnSync(process.execPath, [...flags, fileURLToPath(import.meta.url)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

const outdir = join(root, 'dist', 'bundle');
rmSync(outdir, { recursive: true, force: true });
mkdirSync(outdir, { recursive: true });

const hash = (text: string | Buffer) => createHash('sha256').update(text).digest('hex').slice(0, 16);

/** Writes a file named by its content's hash; the name, relative to the bundle. */
function writeHashed(stem: string, text: string | Buffer): string {
  const name = `${stem}-${hash(text)}.cjs`;
  writeFileSync(join(outdir, name), text, { mode: 0o644 });
  return `./${name}`;
}

const specDir = join(root, 'dist', 'src', 'spec');
const generated: Record<string, string> = {};
for (const f of readdirSync(specDir).filter((n) => n.endsWith('.cjs'))) {
  generated[`./${f}`] = writeHashed(f.replace(/\.cjs$/, ''), readFileSync(join(specDir, f)));
}

// The native module koffi's own loader picks here, and koffi's manifest to check its version
// by: only when both lie inside this install, so that the paths, relative to the bundle,
// lead nowhere else if the install is moved.
const require = createRequire(import.meta.url);
require('koffi');
const inside = (p: string) => !relative(realpathSync(root), p).startsWith('..');
const native = Object.keys(require.cache).find((k) => k.endsWith('.node'));
const koffiInfo = native && inside(native) && inside(realpathSync(require.resolve('koffi'))) && {
  native: relative(outdir, native),
  manifest: relative(outdir, join(dirname(require.resolve('koffi')), 'package.json')),
};

const common: BuildOptions = {
  bundle: true,
  write: false,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  external: ['koffi', 'ajv', 'ajv/*'],
  logLevel: 'warning',
  // a smaller file to read and hash on every start; names stay, for stack traces (RUNTS_TRACE)
  minifyWhitespace: true,
  minifySyntax: true,
  // the sources are ES modules; in CommonJS, import.meta.url is the file's own URL
  banner: { js: "'use strict'; const __runtsImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  define: {
    'import.meta.url': '__runtsImportMetaUrl',
    RUNTS_GENERATED: JSON.stringify(generated),
    RUNTS_KOFFI: koffiInfo ? JSON.stringify(koffiInfo) : 'undefined',
  },
};

async function bundle(entry: string, define: Record<string, string> = {}): Promise<string> {
  const result = await build({
    ...common,
    entryPoints: [join(root, 'dist', 'src', 'cli', entry)],
    outfile: join(outdir, entry.replace(/\.js$/, '.cjs')),
    define: { ...common.define, ...define },
  });
  const text = result.outputFiles![0].text;
  // Node decodes an ASCII file straight into a one-byte string; one other character makes
  // the whole source two-byte, slower to read and to compile on every start.
  const other = /[^\x00-\x7f]/.exec(text);
  if (other) throw new Error(`${entry}: the bundle must be ASCII; write ${JSON.stringify(other[0])} as an escape in the source`);
  return text;
}

const bundleName = writeHashed('runts', await bundle('entry.js'));
const hotName = writeHashed('hot', await bundle('hot.js'));
const names = { RUNTS_BUNDLE: JSON.stringify(bundleName), RUNTS_HOT_BUNDLE: JSON.stringify(hotName) };
writeFileSync(join(outdir, 'main.cjs'), await bundle('loader.js', names), { mode: 0o644 });
writeFileSync(join(outdir, 'seal.cjs'), await bundle('seal.js', names), { mode: 0o644 });

// The code caches: the bundle compiled and warmed up here, as bin/runts's node will load it.
await (requireCached(join(outdir, hotName)) as typeof import('../src/cli/hot.js')).warm();
const entry = requireCached(join(outdir, bundleName)) as typeof import('../src/cli/entry.js');
const scripts = await entry.warm();
const { compiledScripts } = await import('../src/sys/code-cache.js');
for (const [file, script] of [...compiledScripts(), ...scripts]) writeCodeCache(file, script);

// bin/runts starts the node that built runts, not whichever one PATH finds (if any), with
// the flags the caches were made with
writeFileSync(join(root, 'dist', 'node'), `${process.execPath}\n${flags.join(' ')}\n`);
