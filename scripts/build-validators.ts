import { Ajv, type Options } from 'ajv';
import standalone from 'ajv/dist/standalone/index.js';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * Compiles the JSON Schemas in schemas/ once, at build time, into one CommonJS module of
 * plain validation functions (dist/src/spec/validators.cjs) that src/spec/validate.ts
 * loads. A CLI call thus never pays for ajv's schema compiler: see
 * docs/spec-validation.md for the measured difference.
 */

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Export name in the generated module -> schema file. */
export const VALIDATORS: Record<string, string> = {
  validateConfig: 'config.schema.json',
  validateState: 'state.schema.json',
  validateFeatures: 'features.schema.json',
};

/**
 * An ajv instance with the vocabulary of schemas/. allErrors reports every problem at
 * once; verbose puts the failing subschema in each error, which is where the messages
 * find their wording (x-noun) and enum values.
 */
export function createAjv(extra: Options = {}): Ajv {
  // strictRequired is off because the required lists of x-requireAny and of
  // if/else name properties declared by the enclosing object, which strict mode misreads.
  const ajv = new Ajv({ allErrors: true, verbose: true, strict: true, strictRequired: false, ...extra });
  // The noun an enum or pattern stands for ("a namespace type"), used only in messages.
  ajv.addKeyword({ keyword: 'x-noun', schemaType: 'string' });
  // The condition of an if/then/else branch ("unless type is p"), for its required list.
  ajv.addKeyword({ keyword: 'x-when', schemaType: 'string' });
  // "At least one of these properties": a macro, so the generated code needs no
  // run-time keyword, and the generated types stay plain interfaces (an anyOf of
  // required lists would turn them into intersections).
  ajv.addKeyword({
    keyword: 'x-requireAny',
    type: 'object',
    schemaType: 'array',
    macro: (names: string[]) => ({ anyOf: names.map((n) => ({ required: [n] })) }),
  });
  return ajv;
}

export function loadSchema(file: string): { $id: string } {
  return JSON.parse(readFileSync(join(REPO_ROOT, 'schemas', file), 'utf8'));
}

/**
 * The config schema with every open object closed (additionalProperties: false), so a
 * validator built from it finds the properties the spec does not define. The spec has
 * runtimes ignore those; `runts check` reports them because they are usually typos.
 */
export function closedConfigSchema(): { $id: string } {
  const close = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(close);
    if (typeof node !== 'object' || node === null) return node;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node)) out[k] = close(v);
    if ('properties' in out && !('additionalProperties' in out)) out.additionalProperties = false;
    return out;
  };
  return { ...(close(loadSchema(VALIDATORS.validateConfig)) as object), $id: 'runts:closed-config' };
}

/**
 * ajv's code gathers a referenced schema's errors with `vErrors = vErrors.concat(...)`,
 * a new array per failing item: 100,000 bad mounts took a minute. Appending in place
 * is linear. The callee's array is never touched again (each call makes a new one), so
 * taking it over as the first chunk is safe.
 */
function appendInPlace(code: string): string {
  const concat = /vErrors = vErrors === null \? (\w+)\.errors : vErrors\.concat\(\1\.errors\);/g;
  const out = code.replace(concat, (_m, fn: string) => `if (vErrors === null) vErrors = ${fn}.errors; else for (const e of ${fn}.errors) vErrors.push(e);`);
  if (/vErrors\.concat/.test(out)) throw new Error('ajv code gathers errors in a way appendInPlace does not know');
  return out;
}

/** Standalone CommonJS code exporting one validator per entry of `exports` (name -> $id). */
function generate(schemas: { $id: string }[], exports: Record<string, string>, file: string): void {
  const start = performance.now();
  const ajv = createAjv({ code: { source: true, esm: false } });
  for (const schema of schemas) ajv.addSchema(schema);
  // CommonJS default export: under NodeNext the function is reached as .default.
  const code = appendInPlace(standalone.default(ajv, exports));
  const outDir = join(REPO_ROOT, 'dist', 'src', 'spec');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, file), code);
  const ms = (performance.now() - start).toFixed(0);
  process.stderr.write(`wrote dist/src/spec/${file} (${code.length} bytes, ${ms} ms)\n`);
}

function main(): void {
  const schemas = Object.values(VALIDATORS).map(loadSchema);
  const exports: Record<string, string> = {};
  Object.keys(VALIDATORS).forEach((name, i) => (exports[name] = schemas[i].$id));
  generate(schemas, exports, 'validators.cjs');
  // A module of its own, because only `runts check` needs it.
  generate([closedConfigSchema()], { findUnknownProperties: 'runts:closed-config' }, 'unknown-properties.cjs');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
