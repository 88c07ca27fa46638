import { join } from 'node:path';
import { controllerRoot } from '../lib/cgroups.js';
import type { Case } from '../lib/context.js';
import { hookLog, hostHook, readHook } from '../lib/hooks.js';
import { inRuntimeNamespace } from '../lib/namespaces.js';
import { req } from '../lib/spec.js';

const when = req(
  'config.md',
  'Poststop',
  'The `poststop` hooks MUST be called after the container is deleted but before the `delete` operation returns.',
);
const where = req('config.md', 'Poststop', 'The `poststop` hooks MUST be executed in the runtime namespace.');

export const cases: Case[] = [
  {
    name: 'poststop',
    description: 'poststop hooks run during delete, after the container is gone, in the runtime namespace',
    async run(t) {
      const b = await t.bundle((c, b) => {
        const root = controllerRoot(t.host, 'pids') ?? controllerRoot(t.host, 'memory') ?? '/sys/fs/cgroup';
        const cgroup = join(root, c.linux?.cgroupsPath ?? '');
        const check = `[ -d "${cgroup}" ] && echo yes > "${b.out}/cgroup-left" || echo no > "${b.out}/cgroup-left"`;
        b.shell('true');
        c.hooks = { poststop: [hostHook(b, 'poststop', { extra: check })] };
      });
      await t.created(b);
      await t.started(b.id);
      await t.stopped(b.id);
      t.ok(!hookLog(b).includes('poststop'), 'the hook has not run before delete', when, { log: hookLog(b) });
      await t.deleted(b.id);
      t.ok(hookLog(b).includes('poststop'), 'the hook has run when delete returns', when, { log: hookLog(b) });
      t.equal(
        b.outFile('cgroup-left')?.trim(),
        'no',
        "the container's cgroup was already removed when the hook ran",
        when,
      );
      inRuntimeNamespace(t, 'poststop', readHook(b, 'poststop'), where);
    },
  },
];
