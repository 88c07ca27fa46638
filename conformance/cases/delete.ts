import { failure, type Case } from '../lib/context.js';
import { common, req } from '../lib/spec.js';

const noId = req(
  'runtime.md',
  'Delete',
  'This operation MUST generate an error if it is not provided the container ID.',
);
const notStopped = req(
  'runtime.md',
  'Delete',
  'Attempting to `delete` a container that is not `stopped` MUST have no effect on the container and MUST generate an error.',
);
const gone = req(
  'runtime.md',
  'Query State',
  'Attempting to query a container that does not exist MUST generate an error.',
);

export const cases: Case[] = [
  {
    name: 'delete',
    description: 'delete removes a stopped container; deleting a created or running one fails without effect',
    async run(t) {
      const r0 = await t.delete('');
      t.ok(!r0.ok, 'delete without a container id fails', noId, failure(r0));
      const r1 = await t.delete(`${t.suite.runId}-missing`);
      t.ok(!r1.ok, 'delete of a container that does not exist fails', notStopped, failure(r1));

      for (const phase of ['created', 'running'] as const) {
        const b = await t.bundle((c, b) => b.shell('exec sleep 60'));
        const pid = await t.created(b);
        if (phase === 'running') {
          await t.started(b.id);
          await t.waitFor(b.id, ['running']);
        }
        const d = await t.delete(b.id);
        t.ok(!d.ok, `delete of a ${phase} container fails`, notStopped, failure(d));
        const s = await t.state(b.id);
        t.ok(
          s.state?.status === phase && s.state.pid === pid,
          `the ${phase} container is unchanged by the refused delete`,
          notStopped,
          { state: s.state ?? failure(s) },
        );
        if (!s.ok) continue;
        await t.kill(b.id, 'KILL');
        await t.stopped(b.id);
        await t.deleted(b.id);
      }

      const b = await t.bundle((c, b) => b.shell('true'));
      await t.created(b);
      await t.started(b.id);
      await t.stopped(b.id);
      const d = await t.delete(b.id);
      t.ok(d.ok, 'delete of a stopped container succeeds', common.deleteStopped, failure(d));
      const s = await t.state(b.id);
      t.ok(!s.ok, 'the deleted container no longer exists', gone, { state: s.state });
    },
  },
];
