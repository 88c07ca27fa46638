import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, makeBundle, bundleErrors } from './helpers.js';

/**
 * test/fixtures/bad-configs: one mistake per file, each file carrying the exact lines
 * runts must report in its "x-expect" property (an unknown property, which the spec
 * tells runtimes to ignore). <bundle> stands for the temporary bundle directory.
 */
const dir = join(REPO_ROOT, 'test', 'fixtures', 'bad-configs');
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort();

t.ok(files.length >= 40, `at least 40 bad configs (${files.length})`);

for (const file of files) {
  t.test(file, async (t) => {
    const doc = JSON.parse(readFileSync(join(dir, file), 'utf8'));
    const expect: string[] = doc['x-expect'];
    t.ok(Array.isArray(expect) && expect.length > 0, 'declares its expected messages');
    const bundle = makeBundle(t, doc);
    t.same(
      bundleErrors(bundle),
      expect.map((line) => line.replaceAll('<bundle>', bundle)),
    );
  });
}
