import type { Case } from '../lib/context.js';
import { hookLog, hostHook, loggingProgram, readHook } from '../lib/hooks.js';
import { inRuntimeNamespace } from '../lib/namespaces.js';
import { req } from '../lib/spec.js';

const when = req(
  'config.md',
  'Poststart',
  'The `poststart` hooks MUST be called after the user-specified process is executed but before the `start` operation returns.',
);
const where = req('config.md', 'Poststart', 'The `poststart` hooks MUST be executed in the runtime namespace.');

export const cases: Case[] = [
  {
    name: 'poststart',
    description: 'poststart hooks run after the program is executed, before start returns, in the runtime namespace',
    async run(t) {
      const program = loggingProgram('exec sleep 60');
      const b = await t.bundle((c, b) => {
        b.bindOut().shell(program);
        c.hooks = { poststart: [hostHook(b, 'poststart')] };
      });
      await t.created(b);
      t.ok(!hookLog(b).includes('poststart'), 'the hook has not run during create', when, { log: hookLog(b) });
      await t.started(b.id);
      t.ok(hookLog(b).includes('poststart'), 'the hook has run when start returns', when, { log: hookLog(b) });
      const rec = readHook(b, 'poststart');
      const cmdline = rec.cmdline ?? '';
      t.ok(
        cmdline === `sh -c ${program}` || cmdline === 'sleep 60',
        'the container process was already the user-specified program when the hook ran',
        when,
        { cmdline },
      );
      inRuntimeNamespace(t, 'poststart', rec, where);
      await t.kill(b.id, 'KILL');
      await t.stopped(b.id);
      await t.deleted(b.id);
    },
  },
];
