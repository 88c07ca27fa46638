import t from 'tap';
import fc from 'fast-check';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Sandbox, baseConfig, sharedRootfs } from '../helpers/containers.js';
import { CRASH, leftovers, runtsBounded } from './helpers.js';

/**
 * Property: any mutation of a valid busybox config either runs (exit 0) or fails with
 * exit status 1 and a message; never a hang, a crash or anything left behind. Seeded:
 * RUNTS_FUZZ_SEED replays a run, RUNTS_FUZZ_RUNS asks for more than CI's 40.
 */

const sandbox = new Sandbox(t);
const rootfs = sharedRootfs(t);
const seed = Number(process.env.RUNTS_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const numRuns = Number(process.env.RUNTS_FUZZ_RUNS ?? 40);
const NOTHING = { stateDirs: [], cgroups: [], mounts: [], processes: [] };

type Path = (string | number)[];

function base(): any {
  return baseConfig(rootfs, ['true']);
}

/** Every path of a document, the document itself excluded. */
function paths(doc: unknown, at: Path = []): Path[] {
  const out: Path[] = [];
  const entries: [string | number, unknown][] = Array.isArray(doc)
    ? doc.map((v, i) => [i, v])
    : typeof doc === 'object' && doc !== null
      ? Object.entries(doc)
      : [];
  for (const [k, v] of entries) {
    out.push([...at, k]);
    out.push(...paths(v, [...at, k]));
  }
  return out;
}

const BASE_PATHS = paths(base());
const STRING_PATHS = BASE_PATHS.filter((p) => typeof get(base(), p) === 'string');

function get(doc: any, path: Path): any {
  return path.reduce((d, k) => d?.[k], doc);
}

function set(doc: any, path: Path, value: unknown): void {
  const parent = get(doc, path.slice(0, -1));
  if (value === undefined) {
    if (Array.isArray(parent)) parent.splice(path[path.length - 1] as number, 1);
    else delete parent[path[path.length - 1]];
  } else {
    parent[path[path.length - 1]] = value;
  }
}

/** A bundle for any document: Sandbox.bundle gives an object linux its own cgroupsPath. */
function bundleFor(doc: any): string {
  if (typeof doc.linux === 'object' && doc.linux !== null) return sandbox.bundle(doc);
  const bundle = sandbox.bundle({});
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(doc));
  return bundle;
}

interface Mutation {
  describe: string;
  apply(doc: any): void;
}

const WRONG = [null, 0, -1, '', 'x', [], {}, true, 1.5, [null], { a: 1 }];
const EXTREME = [-1, 0, 2 ** 31, 2 ** 32, 2 ** 32 - 1, 2 ** 53, -(2 ** 63), 1e308, -1e308];
const id = fc.oneof(fc.integer({ min: 0, max: 70000 }), fc.constantFrom(0, 1, 65535, 100000, 2 ** 32 - 2, 2 ** 32 - 1, 2 ** 32, -1));
const mapping = fc.record({ containerID: id, hostID: id, size: fc.oneof(id, fc.constant(65536)) });

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.constantFrom(...BASE_PATHS).map((p) => ({ describe: `drop ${p.join('.')}`, apply: (d: any) => set(d, p, undefined) })),
  fc.tuple(fc.constantFrom(...BASE_PATHS), fc.constantFrom(...WRONG)).map(([p, v]) => ({
    describe: `${p.join('.')} = ${JSON.stringify(v)}`,
    apply: (d: any) => set(d, p, structuredClone(v)),
  })),
  fc.tuple(fc.constantFrom(...BASE_PATHS), fc.constantFrom(...EXTREME)).map(([p, v]) => ({
    describe: `${p.join('.')} = ${v}`,
    apply: (d: any) => set(d, p, v),
  })),
  fc.tuple(fc.constantFrom(...STRING_PATHS), fc.nat()).map(([p, at]) => ({
    describe: `NUL in ${p.join('.')}`,
    apply: (d: any) => {
      const s: string = get(d, p);
      const i = at % (s.length + 1);
      set(d, p, `${s.slice(0, i)}\0${s.slice(i)}`);
    },
  })),
  fc.tuple(fc.constantFrom(...STRING_PATHS), fc.constantFrom(70, 5000, 200_000, 1024 * 1024)).map(([p, n]) => ({
    describe: `${p.join('.')} of ${n} characters`,
    apply: (d: any) => set(d, p, 'a'.repeat(n)),
  })),
  fc.tuple(fc.array(mapping, { maxLength: 4 }), fc.array(mapping, { maxLength: 4 })).map(([uid, gid]) => ({
    describe: `user namespace with uidMappings ${JSON.stringify(uid)} gidMappings ${JSON.stringify(gid)}`,
    apply: (d: any) => {
      d.linux.namespaces.push({ type: 'user' });
      d.linux.uidMappings = uid;
      d.linux.gidMappings = gid;
    },
  })),
);

t.comment(`fuzz seed ${seed} (RUNTS_FUZZ_SEED=${seed} replays it), ${numRuns} runs`);

t.test('mutated configs run or fail cleanly', async (t) => {
  let n = 0;
  const failures: string[] = [];
  const details = fc.check(
    fc.property(fc.array(mutation, { minLength: 1, maxLength: 3 }), (mutations) => {
      const doc = base();
      for (const m of mutations) {
        try {
          m.apply(doc);
        } catch {
          // a path an earlier mutation removed: the document stays as it is
        }
      }
      const what = mutations.map((m) => m.describe.slice(0, 200)).join('; ');
      const bundle = bundleFor(doc);
      const r = runtsBounded(sandbox.root, sandbox.dir, ['run', '--bundle', bundle, `fuzz${n++}`], 30_000);
      const problems: string[] = [];
      if (r.status !== 0 && r.status !== 1) problems.push(`exit status ${r.status} (null: a hang or a signal)`);
      if (r.status === 1 && r.stderr.trim() === '') problems.push('exit status 1 without a message');
      if (CRASH.test(r.stdout + r.stderr)) problems.push(`a crash: ${r.stderr.slice(0, 500)}`);
      const left = leftovers(sandbox, rootfs);
      if (JSON.stringify(left) !== JSON.stringify(NOTHING)) {
        problems.push(`left behind: ${JSON.stringify(left)}`);
        for (const id of existsSync(sandbox.root) ? readdirSync(sandbox.root) : []) sandbox.runts(['delete', '--force', id]);
      }
      if (problems.length > 0) failures.push(`${what}: ${problems.join(', ')}`);
      return problems.length === 0;
    }),
    // no shrinking: each try is a container, and the failing mutations are named already
    { seed, numRuns, endOnFailure: true },
  );
  t.same(failures, [], `seed ${seed}`);
  t.notOk(details.failed, `no run threw: ${String(details.errorInstance ?? '')}`);
  t.equal(details.numRuns, numRuns, 'every run was made');
});
