import { SPEC_VERSION_1_1 } from '../lib/config.js';
import type { Case } from '../lib/context.js';
import { req } from '../lib/spec.js';

const hostname = req(
  'config.md',
  'Hostname',
  "`hostname` (string, OPTIONAL) specifies the container's hostname as seen by processes running inside the container.",
);
const domainname = req(
  'config.md',
  'Domainname',
  "`domainname` (string, OPTIONAL) specifies the container's domainname as seen by processes running inside the container.",
);

export const cases: Case[] = [
  {
    name: 'hostname',
    description: 'hostname is what the container sees in its UTS namespace',
    async run(t) {
      const b = await t.bundle((c, b) => {
        c.hostname = 'conformance-host';
        b.shell('hostname');
      });
      t.equal((await t.runToExit(b)).trim(), 'conformance-host', "the container's hostname is hostname", hostname);
    },
  },
  {
    name: 'hostname/domainname',
    description: 'domainname is what the container sees in its UTS namespace',
    async run(t) {
      const b = await t.bundle((c, b) => {
        c.ociVersion = SPEC_VERSION_1_1;
        c.domainname = 'conformance.example';
        b.shell('cat /proc/sys/kernel/domainname');
      });
      t.equal(
        (await t.runToExit(b)).trim(),
        'conformance.example',
        "the container's domainname is domainname",
        domainname,
      );
    },
  },
];
