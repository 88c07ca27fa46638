import { failure, type Case } from '../lib/context.js';
import { hookLog, hostHook } from '../lib/hooks.js';
import { req } from '../lib/spec.js';

const warnOnly = req(
  'runtime.md',
  'Lifecycle',
  'If any `poststop` hook fails, the runtime MUST log a warning, but the remaining hooks and lifecycle continue as if the hook had succeeded.',
);

export const cases: Case[] = [
  {
    name: 'poststop_fail',
    description: 'a failing poststop hook does not fail delete, and the next poststop hook still runs',
    async run(t) {
      const b = await t.bundle((c, b) => {
        b.shell('true');
        c.hooks = { poststop: [hostHook(b, 'poststop1', { exit: 1 }), hostHook(b, 'poststop2')] };
      });
      await t.created(b);
      await t.started(b.id);
      await t.stopped(b.id);
      const d = await t.delete(b.id);
      t.ok(d.ok, 'delete succeeds although a poststop hook failed', warnOnly, failure(d));
      t.equal(
        hookLog(b),
        ['poststop1', 'poststop2'],
        'the remaining poststop hook ran after the failing one',
        warnOnly,
      );
      const s = await t.state(b.id);
      t.ok(!s.ok, 'the container is deleted', warnOnly, { state: s.state });
    },
  },
];
