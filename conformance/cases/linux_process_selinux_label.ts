import { readFileSync } from 'node:fs';
import type { Case } from '../lib/context.js';
import { req } from '../lib/spec.js';

const label = req(
  'config.md',
  'Linux Process',
  '`selinuxLabel` (string, OPTIONAL) specifies the SELinux label for the process.',
);

export const cases: Case[] = [
  {
    name: 'linux_process_selinux_label',
    description: 'the process runs with the configured SELinux label',
    async run(t) {
      if (!t.host.selinux) return t.skip('SELinux is not enabled on this host');
      // The caller's own label with its type kept: a label the loaded policy surely knows.
      const own = readFileSync('/proc/self/attr/current', 'utf8').replace(/\0/g, '').trim();
      const b = await t.bundle((c, b) => {
        c.process!.selinuxLabel = own;
        b.shell('cat /proc/self/attr/current');
      });
      t.equal(
        (await t.runToExit(b)).replace(/\0/g, '').trim(),
        own,
        "the process's SELinux context is selinuxLabel",
        label,
      );
    },
  },
];
