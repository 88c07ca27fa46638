import { SHOW_CAPS, capMask } from '../lib/caps.js';
import { parseKv, type Case } from '../lib/context.js';
import { req } from '../lib/spec.js';

const set = (name: string) =>
  req(
    'config.md',
    'Linux Process',
    `\`${name}\` (array of strings, OPTIONAL) the \`${name}\` field is an array of ${name} capabilities that are kept for the process.`,
  );

const KEPT = ['CAP_CHOWN', 'CAP_KILL', 'CAP_NET_RAW', 'CAP_SYS_CHROOT', 'CAP_AUDIT_WRITE'];
const INHERITED = ['CAP_KILL', 'CAP_SYS_CHROOT'];

export const cases: Case[] = [
  {
    name: 'process_capabilities',
    description:
      'a root process gets exactly the configured bounding, permitted, effective, inheritable and ambient sets',
    async run(t) {
      // For uid 0, execve makes permitted = inheritable | bounding and effective =
      // permitted, so the configured sets can be seen exactly only when they agree with it.
      const b = await t.bundle((c, b) => {
        c.process!.capabilities = {
          bounding: KEPT,
          permitted: KEPT,
          effective: KEPT,
          inheritable: INHERITED,
          ambient: INHERITED,
        };
        b.shell(SHOW_CAPS);
      });
      const kv = parseKv(await t.runToExit(b));
      t.equal(kv.CapBnd, capMask(KEPT), 'the bounding set is the configured one', set('bounding'));
      t.equal(kv.CapPrm, capMask(KEPT), 'the permitted set is the configured one', set('permitted'));
      t.equal(kv.CapEff, capMask(KEPT), 'the effective set is the configured one', set('effective'));
      t.equal(kv.CapInh, capMask(INHERITED), 'the inheritable set is the configured one', set('inheritable'));
      t.equal(kv.CapAmb, capMask(INHERITED), 'the ambient set is the configured one', set('ambient'));
    },
  },
  {
    name: 'process_capabilities/non_root',
    description: 'a non-root process keeps its ambient capabilities in its effective and permitted sets',
    async run(t) {
      const b = await t.bundle((c, b) => {
        c.process!.user = { uid: 1000, gid: 1000 };
        c.process!.capabilities = {
          bounding: KEPT,
          permitted: INHERITED,
          effective: INHERITED,
          inheritable: INHERITED,
          ambient: INHERITED,
        };
        b.shell(SHOW_CAPS);
      });
      const kv = parseKv(await t.runToExit(b));
      t.equal(kv.CapBnd, capMask(KEPT), 'the bounding set is the configured one', set('bounding'));
      t.equal(kv.CapAmb, capMask(INHERITED), 'the ambient set is the configured one', set('ambient'));
      t.equal(kv.CapPrm, capMask(INHERITED), 'the permitted set is the configured one', set('permitted'));
      t.equal(kv.CapEff, capMask(INHERITED), 'the effective set is the configured one', set('effective'));
      t.equal(kv.CapInh, capMask(INHERITED), 'the inheritable set is the configured one', set('inheritable'));
    },
  },
];
