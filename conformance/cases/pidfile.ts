import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { failure, type Case } from '../lib/context.js';
import { req } from '../lib/spec.js';

const pidRequired = req(
  'runtime.md',
  'State',
  '`pid` (int, REQUIRED when `status` is `created` or `running` on Linux, OPTIONAL on other platforms) is the ID of the container process.',
);

export const cases: Case[] = [
  {
    name: 'pidfile',
    description: 'create --pid-file (the runc command line) writes the pid that state reports',
    async run(t) {
      const b = await t.bundle((c, b) => b.shell('true'));
      const pidFile = join(t.dir, 'container.pid');
      const r = await t.create(b, { pidFile });
      t.require(r.ok, 'create --pid-file succeeds', pidRequired, failure(r));
      const s = await t.state(b.id);
      const written = existsSync(pidFile) ? readFileSync(pidFile, 'utf8').trim() : undefined;
      t.equal(Number(written), s.state?.pid, 'the pid file holds the container process pid of state', pidRequired, {
        file: written,
      });
      await t.started(b.id);
      await t.stopped(b.id);
      await t.deleted(b.id);
    },
  },
];
