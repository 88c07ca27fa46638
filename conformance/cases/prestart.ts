import type { Case } from '../lib/context.js';
import { hookLog, hostHook, loggingProgram, readHook } from '../lib/hooks.js';
import { inRuntimeNamespace } from '../lib/namespaces.js';
import { req } from '../lib/spec.js';

const when = req(
  'config.md',
  'Prestart',
  'The `prestart` hooks MUST be called as part of the `create` operation after the runtime environment has been created (according to the configuration in config.json) but before the `pivot_root` or any equivalent operation has been executed.',
);
const path = req('config.md', 'Prestart', "The `prestart` hooks' path MUST resolve in the runtime namespace.");
const where = req('config.md', 'Prestart', 'The `prestart` hooks MUST be executed in the runtime namespace.');

export const cases: Case[] = [
  {
    name: 'prestart',
    description: 'prestart hooks run during create, in the runtime namespace, before pivot_root',
    async run(t) {
      const b = await t.bundle((c, b) => {
        b.bindOut().shell(loggingProgram('exec sleep 60'));
        c.hooks = { prestart: [hostHook(b, 'prestart')] };
      });
      await t.created(b);
      t.equal(hookLog(b), ['prestart'], 'the hook has run when create returns, and the program has not', when);
      const rec = readHook(b, 'prestart');
      t.ok(rec.ran, 'a hook path outside the rootfs resolves', path);
      t.equal(rec.rootPid, 'no', "the container's root was not yet the bundle's rootfs when the hook ran", when, {
        stdin: rec.stdin,
      });
      inRuntimeNamespace(t, 'prestart', rec, where);
      await t.started(b.id);
      await t.kill(b.id, 'KILL');
      await t.stopped(b.id);
      await t.deleted(b.id);
    },
  },
];
