import type { CaseContext } from './context.js';
import type { State } from './runtime.js';
import { req } from './spec.js';

export const stateSchema = req(
  'runtime.md',
  'State',
  'When serialized in JSON, the format MUST adhere to the JSON Schema `schema/state-schema.json`.',
);
const pidRequired = req(
  'runtime.md',
  'State',
  '`pid` (int, REQUIRED when `status` is `created` or `running` on Linux, OPTIONAL on other platforms) is the ID of the container process.',
);
const bundleAbsolute = req(
  'runtime.md',
  'State',
  "`bundle` (string, REQUIRED) is the absolute path to the container's bundle directory.",
);
const idProperty = req('runtime.md', 'State', "`id` (string, REQUIRED) is the container's ID.");
const annotationsProperty = req(
  'runtime.md',
  'State',
  '`annotations` (map, OPTIONAL) contains the list of annotations associated with the container.',
);

const STATUSES = ['creating', 'created', 'running', 'stopped'];

/**
 * Checks a state document against state-schema.json's required properties and types and
 * against what the caller knows of the container. `where` names the source (the state
 * operation or a hook's stdin) in the assertion names.
 */
export function checkState(
  t: CaseContext,
  where: string,
  s: State | undefined,
  want: { id: string; bundle: string; status: string[]; pid?: number; annotations?: Record<string, string> },
): void {
  if (!t.ok(s !== undefined && typeof s === 'object', `${where}: is a JSON object`, stateSchema)) return;
  const st = s as State;
  t.ok(typeof st.ociVersion === 'string' && st.ociVersion.length > 0, `${where}: ociVersion is a string`, stateSchema, {
    ociVersion: st.ociVersion,
  });
  t.equal(st.id, want.id, `${where}: id is the container's id`, idProperty);
  t.ok(
    STATUSES.includes(st.status) && want.status.includes(st.status),
    `${where}: status is ${want.status.join(' or ')}`,
    stateSchema,
    {
      status: st.status,
    },
  );
  t.equal(st.bundle, want.bundle, `${where}: bundle is the bundle's absolute path`, bundleAbsolute);
  if (want.pid !== undefined) {
    t.equal(st.pid, want.pid, `${where}: pid is the container process`, pidRequired);
  } else if (st.status === 'created' || st.status === 'running') {
    t.ok(Number.isInteger(st.pid) && (st.pid ?? 0) > 0, `${where}: pid is set while ${st.status}`, pidRequired, {
      pid: st.pid,
    });
  }
  if (want.annotations !== undefined) {
    t.equal(st.annotations, want.annotations, `${where}: annotations are the configured ones`, annotationsProperty);
  }
}
