import type { Case } from '../lib/context.js';
import { req } from '../lib/spec.js';

const profile = req(
  'config.md',
  'Linux Process',
  '`apparmorProfile` (string, OPTIONAL) specifies the name of the AppArmor profile for the process.',
);

export const cases: Case[] = [
  {
    name: 'linux_process_apparmor_profile',
    description: 'the process runs under the configured AppArmor profile',
    async run(t) {
      if (!t.host.apparmor) return t.skip('AppArmor is not enabled in this kernel');
      const b = await t.bundle((c, b) => {
        c.process!.apparmorProfile = 'unconfined';
        b.shell('cat /proc/self/attr/apparmor/current 2>/dev/null || cat /proc/self/attr/current');
      });
      t.equal(
        (await t.runToExit(b)).trim(),
        'unconfined',
        "the process's AppArmor profile is apparmorProfile",
        profile,
      );
    },
  },
];
