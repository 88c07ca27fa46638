import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UPSTREAM_TESTS, makeBundle, bundleErrors } from './helpers.js';
import { validateConfigSchema, validateState, validateFeatures, type Problem } from '../../src/spec/validate.js';

/**
 * The runtime-spec's own schema test documents, read in place. Good configs that target
 * another platform are skipped: runts validates Linux bundles.
 */
const OTHER_PLATFORMS = ['windows', 'solaris', 'vm', 'zos', 'freebsd'];

function docs(kind: string, verdict: 'good' | 'bad'): [string, string][] {
  const dir = join(UPSTREAM_TESTS, kind, verdict);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => [f, readFileSync(join(dir, f), 'utf8')]);
}

function parsed(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const schemaCheck: Record<string, (doc: unknown) => Problem[]> = {
  state: validateState,
  features: validateFeatures,
};

t.test('good configs for linux or no platform pass the schema', async (t) => {
  let n = 0;
  for (const [name, text] of docs('config', 'good')) {
    const doc = JSON.parse(text) as Record<string, unknown>;
    if (OTHER_PLATFORMS.some((p) => p in doc)) continue;
    t.same(validateConfigSchema(doc), [], name);
    n++;
  }
  t.ok(n >= 4, `${n} good configs checked`);
});

t.test('bad configs are rejected', async (t) => {
  for (const [name, text] of docs('config', 'bad')) {
    t.test(name, async (t) => {
      const errors = bundleErrors(makeBundle(t, text));
      t.ok(errors.length > 0, errors.join('\n'));
    });
  }
});

for (const kind of ['state', 'features']) {
  t.test(`good ${kind} documents pass`, async (t) => {
    for (const [name, text] of docs(kind, 'good')) t.same(schemaCheck[kind](JSON.parse(text)), [], name);
  });
  t.test(`bad ${kind} documents are rejected`, async (t) => {
    for (const [name, text] of docs(kind, 'bad')) {
      const doc = parsed(text);
      t.ok(doc === undefined || schemaCheck[kind](doc).length > 0, name);
    }
  });
}

t.test('the upstream bad fixtures fail for the reason they were written for', async (t) => {
  const byName = Object.fromEntries(docs('config', 'bad'));
  const reasons: Record<string, string> = {
    'linux-hugepage.json':
      'linux.resources.hugepageLimits[0].pageSize: "64kB" is not a page size such as 64KB, 2MB or 1GB',
    'linux-netdevice.json': 'linux.netDevices.eth0.name: expected a string, got number',
    'linux-rdma.json': 'linux.resources.rdma.mlx5_1.hcaHandles: expected an integer, got string',
    'invalid-json.json': "config.json: not valid JSON at line 1, column 2: expected property name or '}'",
    'freebsd-vnet-disable.json': 'config.json: freebsd: a FreeBSD section cannot be honoured by a linux runtime',
  };
  for (const [name, line] of Object.entries(reasons)) {
    const errors = bundleErrors(makeBundle(t, byName[name]));
    t.ok(
      errors.some((e) => e === line || e === `config.json: ${line}`),
      `${name}: ${errors.join(' | ')}`,
    );
  }
});
