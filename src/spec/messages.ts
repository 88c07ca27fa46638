/**
 * Turns the errors of the generated validators (ajv, verbose, allErrors) into one plain
 * sentence per problem, keyed by the JSON path a person would write.
 */

export interface Problem {
  /** Where: `linux.namespaces[2].type`; '' for the document itself. */
  path: string;
  /** What is wrong, lower case, no trailing period. */
  message: string;
}

/** The fields of an ajv error the messages use (verbose mode adds data and parentSchema). */
export interface SchemaError {
  instancePath: string;
  schemaPath: string;
  keyword: string;
  params: Record<string, unknown>;
  propertyName?: string;
  data?: unknown;
  parentSchema?: Record<string, unknown>;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** Appends a property name to a path: `a.b`, or `a["net.ipv4.ip_forward"]` when needed. */
export function joinPath(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  if (!IDENTIFIER.test(key)) return `${path}[${JSON.stringify(key)}]`;
  return path ? `${path}.${key}` : key;
}

/** `/linux/namespaces/2/type` -> `linux.namespaces[2].type`. */
export function pointerToPath(pointer: string): string {
  if (!pointer) return '';
  let path = '';
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    path = joinPath(path, /^(0|[1-9][0-9]*)$/.test(key) ? Number(key) : key);
  }
  return path;
}

/** A JSON type name as people say it: "an object", "a string", "null". */
function typeName(t: string): string {
  if (t === 'null') return 'null';
  if (t === 'integer' || t === 'array' || t === 'object') return `an ${t}`;
  return `a ${t}`;
}

function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

function show(v: unknown): string {
  return JSON.stringify(v) ?? String(v);
}

function noun(e: SchemaError): string | undefined {
  const n = e.parentSchema?.['x-noun'];
  return typeof n === 'string' ? n : undefined;
}

function listOr(names: string[]): string {
  return names.length <= 1 ? names.join('') : `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}`;
}

/** One problem for one ajv error, or undefined for errors that only echo others. */
function describe(e: SchemaError): Problem | undefined {
  const at = pointerToPath(e.instancePath);
  const p = e.params;
  switch (e.keyword) {
    case 'type': {
      const expected = String(p.type).split(',');
      // 1.5 where an integer belongs is a number all the same: show the value instead.
      const got = expected.includes('integer') && typeof e.data === 'number' ? show(e.data) : jsonType(e.data);
      return { path: at, message: `expected ${listOr(expected.map(typeName))}, got ${got}` };
    }
    case 'required': {
      const when = e.parentSchema?.['x-when'];
      return {
        path: joinPath(at, String(p.missingProperty)),
        message: typeof when === 'string' ? `missing (required ${when})` : 'missing (required)',
      };
    }
    case 'dependencies':
      return {
        path: joinPath(at, String(p.missingProperty)),
        message: `missing (required with ${String(p.property)})`,
      };
    case 'x-requireAny': {
      const names = (e.parentSchema?.['x-requireAny'] as string[] | undefined) ?? [];
      return { path: at, message: `needs ${listOr(names)} (${names.length === 2 ? 'or both' : 'or several'})` };
    }
    case 'enum': {
      const allowed = (p.allowedValues as unknown[]).map(String).join(', ');
      const what = noun(e);
      return {
        path: at,
        message: what
          ? `${show(e.data)} is not ${what}; expected one of ${allowed}`
          : `${show(e.data)} is not allowed; expected one of ${allowed}`,
      };
    }
    case 'pattern': {
      const what = noun(e);
      return {
        path: at,
        message: what ? `${show(e.data)} is not ${what}` : `${show(e.data)} does not match ${String(p.pattern)}`,
      };
    }
    case 'minimum':
      return {
        path: at,
        message:
          p.limit === 0
            ? `must not be negative, got ${show(e.data)}`
            : `must be at least ${p.limit}, got ${show(e.data)}`,
      };
    case 'maximum':
      return { path: at, message: `must be at most ${p.limit}, got ${show(e.data)}` };
    case 'exclusiveMinimum':
      return { path: at, message: `must be greater than ${p.limit}, got ${show(e.data)}` };
    case 'minLength':
    case 'minItems':
      return { path: at, message: p.limit === 1 ? 'must not be empty' : `must have at least ${p.limit} entries` };
    case 'additionalProperties':
      return {
        path: joinPath(at, String(p.additionalProperty)),
        message: 'unknown property (none other is allowed here)',
      };
    case 'propertyNames':
      return { path: at, message: `${show(p.propertyName)} is not allowed as a key: keys must not be empty` };
    case 'if':
      // The failing branch (then/else) reports what is actually missing.
      return undefined;
    default:
      return { path: at, message: `is not valid (${e.keyword})` };
  }
}

/**
 * All problems of one validation run. Errors ajv raises inside a macro (x-requireAny)
 * or while checking a property name are folded into the one problem that explains them,
 * and once a value has the wrong type nothing else is said about that value.
 */
export function problemsFromErrors(errors: readonly SchemaError[] | null | undefined): Problem[] {
  if (!errors) return [];
  const macroPaths = errors.filter((e) => e.keyword === 'x-requireAny').map((e) => `${e.schemaPath}/`);
  const mistyped = new Set(errors.filter((e) => e.keyword === 'type').map((e) => e.instancePath));
  const problems: Problem[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    if (macroPaths.some((m) => e.schemaPath.startsWith(m))) continue;
    if (e.propertyName !== undefined && e.keyword !== 'propertyNames') continue;
    if (e.keyword !== 'type' && mistyped.has(e.instancePath)) continue;
    const problem = describe(e);
    if (!problem) continue;
    const key = `${problem.path}\0${problem.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    problems.push(problem);
  }
  return problems;
}

/** `path: message`, or the message alone for the document itself. */
export function formatProblem(p: Problem): string {
  return p.path ? `${p.path}: ${p.message}` : p.message;
}

/**
 * JSON.parse's complaint on one line: V8 quotes the text around the mistake, which may
 * hold newlines or control characters, and says where as an offset.
 */
export function jsonSyntaxReason(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg
    .replace(/, "[\s\S]*" is not valid JSON$/, '')
    .replace(/ in JSON at position \d+[\s\S]*$/, '')
    .replace(/[\x00-\x1f\x7f]/g, (c) => JSON.stringify(c).slice(1, -1))
    .replace(/^./, (c) => c.toLowerCase());
}
