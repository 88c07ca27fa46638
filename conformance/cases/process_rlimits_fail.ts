import { failure, type Case } from '../lib/context.js';
import { req } from '../lib/spec.js';

const unknown = req(
  'config.md',
  'POSIX process',
  'The runtime MUST generate an error for any values which cannot be mapped to a relevant kernel interface.',
);
const duplicate = req(
  'config.md',
  'POSIX process',
  'If `rlimits` contains duplicated entries with same `type`, the runtime MUST generate an error.',
);
const noContainer = req(
  'runtime.md',
  'Create',
  'If the runtime cannot apply a property as specified in the configuration, it MUST generate an error and a new container MUST NOT be created.',
);

export const cases: Case[] = [
  {
    name: 'process_rlimits_fail',
    description: 'an unknown rlimit type or a duplicated one makes create fail and leaves no container',
    async run(t) {
      const variants = [
        { what: 'an unknown rlimit type', r: unknown, rlimits: [{ type: 'RLIMIT_CONFORMANCE', soft: 1, hard: 1 }] },
        {
          what: 'a duplicated rlimit type',
          r: duplicate,
          rlimits: [
            { type: 'RLIMIT_NOFILE', soft: 512, hard: 512 },
            { type: 'RLIMIT_NOFILE', soft: 256, hard: 256 },
          ],
        },
      ];
      for (const v of variants) {
        const b = await t.bundle((c, b) => {
          c.process!.rlimits = v.rlimits;
          b.shell('echo ran');
        });
        const r = await t.create(b);
        t.ok(!r.ok, `create fails with ${v.what}`, v.r, failure(r));
        if (r.ok) {
          await t.start(b.id);
          await t.stopped(b.id);
          await t.deleted(b.id);
          continue;
        }
        const s = await t.state(b.id);
        t.ok(!s.ok, 'no container exists after the failed create', noContainer, { state: s.state });
      }
    },
  },
];
