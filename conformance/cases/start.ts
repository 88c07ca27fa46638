import { failure, type Case } from '../lib/context.js';
import { sleep } from '../lib/proc.js';
import { req } from '../lib/spec.js';

const noId = req(
  'runtime.md',
  'Start',
  'This operation MUST generate an error if it is not provided the container ID.',
);
const notCreated = req(
  'runtime.md',
  'Start',
  'Attempting to `start` a container that is not `created` MUST have no effect on the container and MUST generate an error.',
);
const noProcess = req('runtime.md', 'Start', 'This operation MUST generate an error if `process` was not set.');

export const cases: Case[] = [
  {
    name: 'start',
    description: 'start runs the program once; starting a missing, running or stopped container fails without effect',
    async run(t) {
      const r0 = await t.start('');
      t.ok(!r0.ok, 'start without a container id fails', noId, failure(r0));
      const r1 = await t.start(`${t.suite.runId}-missing`);
      t.ok(!r1.ok, 'start of a container that does not exist fails', notCreated, failure(r1));

      const once = await t.bundle((c, b) => b.shell('echo ran'));
      await t.created(once);
      await t.started(once.id);
      await t.stopped(once.id);
      t.equal(once.stdout(), 'ran\n', 'start runs the program', notCreated);
      const again = await t.start(once.id);
      t.ok(!again.ok, 'start of a stopped container fails', notCreated, failure(again));
      await sleep(200);
      const s = await t.state(once.id);
      t.ok(
        once.stdout() === 'ran\n' && s.state?.status === 'stopped',
        'the stopped container is unchanged',
        notCreated,
        {
          stdout: once.stdout(),
          status: s.state?.status,
        },
      );
      await t.deleted(once.id);

      const running = await t.bundle((c, b) => b.shell('echo ran; exec sleep 60'));
      const pid = await t.created(running);
      await t.started(running.id);
      await t.waitFor(running.id, ['running']);
      const twice = await t.start(running.id);
      t.ok(!twice.ok, 'start of a running container fails', notCreated, failure(twice));
      await sleep(200);
      const rs = await t.state(running.id);
      t.ok(
        rs.state?.status === 'running' && rs.state.pid === pid && running.stdout() === 'ran\n',
        'the running container is unchanged: same process, program not run twice',
        notCreated,
        { state: rs.state, stdout: running.stdout() },
      );

      const bare = await t.bundle((c) => delete c.process);
      const created = await t.create(bare);
      const started = created.ok ? await t.start(bare.id) : undefined;
      t.ok(
        !created.ok || started?.ok === false,
        'a container without process cannot be started (create or start fails)',
        noProcess,
        started ? failure(started) : failure(created),
      );
    },
  },
];
