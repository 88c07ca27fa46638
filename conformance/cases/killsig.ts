import { failure, type Case } from '../lib/context.js';
import { common } from '../lib/spec.js';

const SIGNALS = ['HUP', 'INT', 'QUIT', 'USR1', 'USR2', 'ALRM', 'TERM', 'WINCH'];

export const cases: Case[] = [
  {
    name: 'killsig',
    description: 'kill delivers exactly the named signal, for several signals in turn',
    async run(t) {
      const traps = SIGNALS.map((s) => `trap 'echo got-${s}' ${s}`).join('; ');
      const b = await t.bundle((c, b) => b.shell(`${traps}; echo ready; while :; do sleep 60 & wait $!; done`));
      await t.created(b);
      await t.started(b.id);
      t.require(await t.printed(b, 'ready'), 'the container process runs its program', common.start);
      for (const sig of SIGNALS) {
        const k = await t.kill(b.id, sig);
        t.ok(k.ok, `kill ${sig} succeeds`, common.kill, failure(k));
        const got = await t.printed(b, `got-${sig}`);
        const lines = b.stdout().trim().split('\n');
        t.ok(
          got && lines[lines.length - 1] === `got-${sig}`,
          `the container process receives SIG${sig} and only it`,
          common.kill,
          {
            stdout: lines.slice(-3),
          },
        );
      }
      await t.kill(b.id, 'KILL');
      await t.stopped(b.id);
      await t.deleted(b.id);
    },
  },
];
