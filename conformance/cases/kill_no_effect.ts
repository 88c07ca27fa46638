import { failure, type Case } from '../lib/context.js';
import { req } from '../lib/spec.js';

const notRunning = req(
  'runtime.md',
  'Kill',
  'Attempting to send a signal to a container that is neither `created` nor `running` MUST have no effect on the container and MUST generate an error.',
);

export const cases: Case[] = [
  {
    name: 'kill_no_effect',
    description: 'kill of a stopped container fails and leaves it as it was',
    async run(t) {
      const b = await t.bundle((c, b) => b.shell('true'));
      await t.created(b);
      await t.started(b.id);
      await t.stopped(b.id);
      const before = await t.state(b.id);
      const k = await t.kill(b.id, 'KILL');
      t.ok(!k.ok, 'kill of a stopped container fails', notRunning, failure(k));
      const after = await t.state(b.id);
      t.equal(after.state, before.state, "the stopped container's state is unchanged", notRunning);
      await t.deleted(b.id);
    },
  },
];
