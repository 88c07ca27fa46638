import { compile, type JSONSchema } from 'json-schema-to-typescript';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * Writes src/spec/types/{config,state,features}.ts from the JSON Schemas in schemas/.
 * The generated files are committed; a test regenerates them in memory and fails when
 * the committed ones differ, so the schemas stay the one source of truth.
 */

/** The repository root: this file runs as dist/scripts/gen-types.js. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export const TYPE_FILES: Record<string, string> = {
  'config.schema.json': 'config.ts',
  'state.schema.json': 'state.ts',
  'features.schema.json': 'features.ts',
};

const BANNER = (schemaFile: string) =>
  `/* Generated from schemas/${schemaFile} by \`npm run gen:types\`; edit the schema, not this file. */`;

/** The generated TypeScript of every schema, keyed by output file name. */
export async function generateTypes(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [schemaFile, typeFile] of Object.entries(TYPE_FILES)) {
    const schema = JSON.parse(readFileSync(join(REPO_ROOT, 'schemas', schemaFile), 'utf8')) as JSONSchema;
    out[typeFile] = await compile(schema, String(schema.title), {
      bannerComment: BANNER(schemaFile),
      // Objects the schema leaves open (the spec tells runtimes to ignore unknown
      // properties) would otherwise all get an index signature that defeats type checks.
      additionalProperties: false,
      ignoreMinAndMaxItems: true,
      unknownAny: true,
      strictIndexSignatures: true,
      cwd: join(REPO_ROOT, 'schemas'),
      style: { singleQuote: true, printWidth: 120 },
    });
  }
  return out;
}

async function main(): Promise<void> {
  const dir = join(REPO_ROOT, 'src', 'spec', 'types');
  mkdirSync(dir, { recursive: true });
  for (const [file, text] of Object.entries(await generateTypes())) {
    writeFileSync(join(dir, file), text);
    process.stderr.write(`wrote src/spec/types/${file}\n`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
