import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Case } from '../lib/context.js';
import { req } from '../lib/spec.js';

const noEffect = req(
  'runtime.md',
  'Lifecycle',
  'Any updates to `config.json` after this step MUST NOT affect the container.',
);

export const cases: Case[] = [
  {
    name: 'config_updates_without_affect',
    description: 'changing config.json after create changes neither the program, its environment nor the hooks',
    async run(t) {
      const marker = join(t.dir, 'poststart-ran');
      const b = await t.bundle((c, b) => {
        c.process!.env = [...(c.process!.env ?? []), 'WHICH=original'];
        b.shell('echo "args=original env=$WHICH"');
      });
      await t.created(b);
      b.config.process!.env = [
        ...(b.config.process!.env ?? []).filter((e) => !e.startsWith('WHICH=')),
        'WHICH=updated',
      ];
      b.shell('echo "args=updated env=$WHICH"');
      b.config.hooks = { poststart: [{ path: '/bin/sh', args: ['sh', '-c', `touch ${marker}`] }] };
      b.write();
      await t.started(b.id);
      await t.stopped(b.id);
      t.equal(
        b.stdout(),
        'args=original env=original\n',
        'the program and environment are those of create time',
        noEffect,
      );
      t.ok(!existsSync(marker), 'a hook added after create does not run', noEffect);
      await t.deleted(b.id);
    },
  },
];
