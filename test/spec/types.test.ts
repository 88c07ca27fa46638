import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateTypes } from '../../scripts/gen-types.js';
import { REPO_ROOT } from './helpers.js';

// The committed src/spec/types/*.ts must be what the schemas generate now.
t.test('generated types are up to date (npm run gen:types)', async (t) => {
  const generated = await generateTypes();
  for (const [file, text] of Object.entries(generated)) {
    const committed = readFileSync(join(REPO_ROOT, 'src', 'spec', 'types', file), 'utf8');
    t.equal(committed, text, `src/spec/types/${file} is stale: run npm run gen:types`);
  }
});
