import { failure, type Case } from '../lib/context.js';
import { common, req } from '../lib/spec.js';

const noId = req('runtime.md', 'Kill', 'This operation MUST generate an error if it is not provided the container ID.');
const notRunning = req(
  'runtime.md',
  'Kill',
  'Attempting to send a signal to a container that is neither `created` nor `running` MUST have no effect on the container and MUST generate an error.',
);

export const cases: Case[] = [
  {
    name: 'kill',
    description: 'kill signals a created or running container; without an id or container it fails',
    async run(t) {
      const r0 = await t.kill('', 'KILL');
      t.ok(!r0.ok, 'kill without a container id fails', noId, failure(r0));
      const r1 = await t.kill(`${t.suite.runId}-missing`, 'KILL');
      t.ok(!r1.ok, 'kill of a container that does not exist fails', notRunning, failure(r1));

      const created = await t.bundle((c, b) => b.shell('exec sleep 60'));
      await t.created(created);
      const k1 = await t.kill(created.id, 'KILL');
      t.ok(k1.ok, 'kill KILL of a created container succeeds', common.kill, failure(k1));
      const s1 = await t.waitFor(created.id, ['stopped']);
      t.equal(s1.state?.status, 'stopped', "the created container's process dies of SIGKILL", common.kill);
      await t.deleted(created.id);

      const running = await t.bundle((c, b) =>
        b.shell("trap 'echo got-TERM; exit 0' TERM; echo ready; while :; do sleep 60 & wait $!; done"),
      );
      await t.created(running);
      await t.started(running.id);
      t.require(await t.printed(running, 'ready'), 'the container process runs its program', common.start);
      const k2 = await t.kill(running.id, 'TERM');
      t.ok(k2.ok, 'kill TERM of a running container succeeds', common.kill, failure(k2));
      t.ok(await t.printed(running, 'got-TERM'), 'the container process receives SIGTERM', common.kill, {
        stdout: running.stdout(),
      });
      await t.stopped(running.id);
      await t.deleted(running.id);
    },
  },
];
