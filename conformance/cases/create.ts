import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { failure, type Case } from '../lib/context.js';
import { sleep } from '../lib/proc.js';
import { common, req } from '../lib/spec.js';

const noIdOrBundle = req(
  'runtime.md',
  'Create',
  'This operation MUST generate an error if it is not provided a path to the bundle and the container ID to associate with the container.',
);
const notUnique = req(
  'runtime.md',
  'Create',
  'If the ID provided is not unique across all containers within the scope of the runtime, or is not valid in any other way, the implementation MUST generate an error and a new container MUST NOT be created.',
);
const notRunYet = req(
  'runtime.md',
  'Lifecycle',
  'While the resources requested in the `config.json` MUST be created, the user-specified program (from `process`) MUST NOT be run at this time.',
);
const createdStatus = req(
  'runtime.md',
  'State',
  '`created`: the runtime has finished the create operation (after step 2 in the lifecycle), and the container process has neither exited nor executed the user-specified program',
);

export const cases: Case[] = [
  {
    name: 'create',
    description: 'create makes a container without running its program; bad or duplicate ids are refused',
    async run(t) {
      const b = await t.bundle((c, b) => b.shell('echo ran'));

      const noId = await t.create(b, { id: '' });
      t.ok(!noId.ok, 'create with an empty container id fails', noIdOrBundle, failure(noId));
      const noBundle = await t.create(b, { id: t.newId(), bundlePath: join(t.dir, 'no-such-bundle') });
      t.ok(!noBundle.ok, 'create with a bundle path that does not exist fails', noIdOrBundle, failure(noBundle));

      const pid = await t.created(b);
      const s = await t.state(b.id);
      t.equal(s.state?.status, 'created', 'state after create is "created"', createdStatus);
      t.ok(existsSync(`/proc/${pid}`), `the container process (pid ${pid}) exists after create`, common.create);
      await sleep(300);
      t.equal(b.stdout(), '', 'the program has not run after create', notRunYet);

      const dup = await t.bundle((c, d) => d.shell('echo duplicate'));
      const again = await t.create(dup, { id: b.id });
      t.ok(!again.ok, 'create with the id of an existing container fails', notUnique, failure(again));
      const after = await t.state(b.id);
      t.ok(
        after.state?.status === 'created' && after.state.pid === pid,
        'the existing container is unchanged by the refused create',
        notUnique,
        { state: after.state },
      );

      await t.started(b.id);
      await t.stopped(b.id);
      t.equal(b.stdout(), 'ran\n', 'the program runs once started', common.start);
      await sleep(100);
      t.equal(dup.stdout(), '', 'the refused create ran nothing', notUnique);
      await t.deleted(b.id);
    },
  },
];
