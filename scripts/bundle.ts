import { build } from 'esbuild';
import { copyFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Bundles the compiled CLI into dist/bundle: one entry and a chunk per command, loaded
 * when that command runs. Resolving and reading some eighty small modules costs a Node
 * start more than parsing one file; koffi stays outside (it loads a native module), and
 * the ahead-of-time validators sit beside the chunks that load them.
 */
const root = fileURLToPath(new URL('../../', import.meta.url));
const outdir = join(root, 'dist', 'bundle');
rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: [join(root, 'dist', 'src', 'cli', 'main.js'), join(root, 'dist', 'src', 'cli', 'seal.js')],
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['koffi', 'ajv', 'ajv/*'],
  logLevel: 'warning',
  // commander is CommonJS: its require() of Node's modules needs a real require
  banner: { js: "import { createRequire as __runtsRequire } from 'node:module'; const require = __runtsRequire(import.meta.url);" },
});
const specDir = join(root, 'dist', 'src', 'spec');
for (const f of readdirSync(specDir).filter((n) => n.endsWith('.cjs'))) copyFileSync(join(specDir, f), join(outdir, f));
// bin/runts starts the node that built runts, not whichever one PATH finds (if any)
writeFileSync(join(root, 'dist', 'node'), `${process.execPath}\n`);
