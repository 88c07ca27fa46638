import { readFileSync } from 'node:fs';
import { SPEC_VERSION_1_1 } from '../lib/config.js';
import { failure, type Case } from '../lib/context.js';
import { req } from '../lib/spec.js';

const noResctrl = req(
  'config-linux.md',
  'IntelRdt',
  'If no mounted `resctrl` pseudo-filesystem is available in the runtime mount namespace, the runtime MUST generate an error.',
);

export const cases: Case[] = [
  {
    name: 'linux_intel_rdt/no_resctrl',
    description: 'linux.intelRdt on a host with no resctrl filesystem mounted: create fails',
    async run(t) {
      if (/ - resctrl /.test(readFileSync('/proc/self/mountinfo', 'utf8'))) return t.skip('resctrl is mounted on this host');
      const b = await t.bundle((c, b) => {
        c.ociVersion = SPEC_VERSION_1_1;
        (b.linux as Record<string, unknown>).intelRdt = { closID: 'conformance', l3CacheSchema: 'L3:0=f' };
        b.shell('true');
      });
      const r = await t.create(b);
      t.ok(!r.ok, 'create fails', noResctrl, failure(r));
    },
  },
];
