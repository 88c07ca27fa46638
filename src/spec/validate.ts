import { join } from 'node:path';
import { debug } from '../log.js';
import { codeCacheOutcomes, requireBundle } from '../sys/code-cache.js';
import { requireFrom } from '../sys/require.js';
import { RuntsError, RuntsErrors } from '../errors.js';
import { MiB, readInputFile } from '../sys/input-file.js';
import type { Spec } from './types/config.js';
import { joinPath, jsonSyntaxReason, pointerToPath, problemsFromErrors, type Problem, type SchemaError } from './messages.js';
import { checkConfigSemantics } from './semantics.js';

export type { Problem } from './messages.js';
export { formatProblem } from './messages.js';
export { checkConfigSemantics } from './semantics.js';

interface Validator {
  (doc: unknown): boolean;
  errors?: SchemaError[] | null;
}

interface Validators {
  validateConfig: Validator;
  validateState: Validator;
  validateFeatures: Validator;
}

let validators: Validators | undefined;
let unknownFinder: Validator | undefined;

/**
 * In the bundle, the generated modules' names with their content hash, beside it
 * (scripts/bundle.ts defines it); the compiled sources require them by their own names.
 */
declare const RUNTS_GENERATED: Record<string, string> | undefined;

/**
 * A module `npm run build` generated from schemas/ (scripts/build-validators.ts):
 * requiring plain code is far cheaper than compiling the schemas on every call, and the
 * bundle's copies come with their compiled code (sys/code-cache.ts).
 */
function requireGenerated(file: string): unknown {
  try {
    if (typeof RUNTS_GENERATED === 'undefined') return requireFrom(import.meta.url)(file);
    const loaded = requireBundle(RUNTS_GENERATED[file], import.meta.url);
    for (const outcome of codeCacheOutcomes().splice(0)) debug(`code cache ${outcome}`);
    return loaded;
  } catch (err) {
    throw new RuntsError(`the validators are not built (${file}): run npm run build`, { cause: err });
  }
}

function load(): Validators {
  validators ??= requireGenerated('./validators.cjs') as Validators;
  return validators;
}

function run(v: Validator, doc: unknown): Problem[] {
  return v(doc) ? [] : problemsFromErrors(v.errors);
}

/** Problems of config.json against the runtime-spec 1.3 schema. */
export function validateConfigSchema(config: unknown): Problem[] {
  return run(load().validateConfig, config);
}

/** Problems of a state document (`runts state`, what hooks receive). */
export function validateState(doc: unknown): Problem[] {
  return run(load().validateState, doc);
}

/** Problems of a features document (`runts features`). */
export function validateFeatures(doc: unknown): Problem[] {
  return run(load().validateFeatures, doc);
}

/**
 * Properties of config.json the runtime-spec does not define. They are no error (the
 * spec has runtimes ignore them) but often a typo, such as `namespace` for `namespaces`.
 */
export function findUnknownProperties(config: unknown): Problem[] {
  unknownFinder ??= (requireGenerated('./unknown-properties.cjs') as { findUnknownProperties: Validator })
    .findUnknownProperties;
  if (unknownFinder(config)) return [];
  return (unknownFinder.errors ?? [])
    .filter((e) => e.keyword === 'additionalProperties')
    .map((e) => ({
      path: joinPath(pointerToPath(e.instancePath), String(e.params.additionalProperty)),
      message: 'not defined by the runtime-spec, ignored',
    }));
}

/** True when `path` is `ancestor` or lies below it (`a.b[1]` below `a.b`). */
function within(path: string, ancestor: string): boolean {
  return path === ancestor || path.startsWith(`${ancestor}.`) || path.startsWith(`${ancestor}[`);
}

/** `config.json: <path>: <message>` for every problem, as one RuntsError each. */
function toErrors(problems: Problem[]): RuntsError[] {
  return problems.map((p) =>
    p.path ? new RuntsError(p.message, { configPath: p.path }) : new RuntsError(`config.json: ${p.message}`),
  );
}

/** JSON.parse's complaint with the line and column people look for. */
function jsonProblem(text: string, err: unknown): Problem {
  const msg = err instanceof Error ? err.message : String(err);
  const pos = /position (\d+)/.exec(msg);
  let where = '';
  if (pos) {
    const before = text.slice(0, Number(pos[1])).split('\n');
    where = ` at line ${before.length}, column ${before[before.length - 1].length + 1}`;
  }
  return { path: '', message: `not valid JSON${where}: ${jsonSyntaxReason(err)}` };
}

/** config.json is read only up to this size: a larger one is refused, not parsed. */
export const CONFIG_LIMIT = 16 * MiB;

/**
 * Nesting deeper than any config needs. The schema and the checks walk the document
 * recursively, so a document nested 100,000 deep would exhaust the stack.
 */
export const MAX_DEPTH = 200;

/** The deepest nesting of arrays and objects in a JSON text, counted without parsing. */
function nestingDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // a backslash escapes the next character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) max = depth;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return max;
}

/**
 * The problems of a process given on its own (`exec -p process.json`): the schema's and
 * the semantic checks' findings under `process`, with paths relative to it.
 */
export function processProblems(process: unknown): Problem[] {
  const doc = { ociVersion: '1.3.0', root: { path: '/' }, linux: {}, process };
  const inProcess = (p: Problem) => within(p.path, 'process');
  const problems = validateConfigSchema(doc).filter(inProcess);
  const badPaths = problems.map((p) => p.path);
  for (const p of checkConfigSemantics(doc as Spec, '/').filter(inProcess)) {
    if (!badPaths.some((bad) => within(p.path, bad))) problems.push(p);
  }
  return problems.map((p) => ({ ...p, path: p.path.replace(/^process\.?/, '') }));
}

/**
 * An input document other than config.json (state.json, `exec -p`, `update -r`): its
 * nesting bounded as config.json's, a syntax error on one line. `name` starts the message.
 */
export function parseJsonInput(text: string, name: string): unknown {
  if (nestingDepth(text) > MAX_DEPTH) throw new RuntsError(`${name}: nested more than ${MAX_DEPTH} levels deep`);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new RuntsError(`${name}: not valid JSON: ${jsonSyntaxReason(err)}`);
  }
}

/** Throws every schema problem of a config built in memory (`update`'s merged resources). */
export function assertConfigSchema(doc: Spec): void {
  const problems = validateConfigSchema(doc);
  if (problems.length > 0) throw new RuntsErrors(toErrors(problems));
}

/**
 * Reads and checks <bundle>/config.json. Every problem (JSON syntax, schema, semantics)
 * is collected and thrown at once as RuntsErrors, one RuntsError per problem. A semantic
 * check on a value the schema already rejected would only repeat the complaint, so
 * those are left out.
 */
export function loadBundleConfig(bundleDir: string): Spec {
  const file = join(bundleDir, 'config.json');
  const text = readInputFile(file, CONFIG_LIMIT);
  if (nestingDepth(text) > MAX_DEPTH) {
    throw new RuntsErrors(toErrors([{ path: '', message: `nested more than ${MAX_DEPTH} levels deep` }]));
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new RuntsErrors(toErrors([jsonProblem(text, err)]));
  }
  const problems = validateConfigSchema(doc);
  if (typeof doc === 'object' && doc !== null && !Array.isArray(doc)) {
    const badPaths = problems.map((p) => p.path).filter((p) => p !== '');
    for (const p of checkConfigSemantics(doc as Spec, bundleDir)) {
      if (!badPaths.some((bad) => within(p.path, bad))) problems.push(p);
    }
  }
  if (problems.length > 0) throw new RuntsErrors(toErrors(problems));
  return doc as Spec;
}
