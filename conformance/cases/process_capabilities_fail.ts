import { CAPABILITIES, SHOW_CAPS, capMask } from '../lib/caps.js';
import { SPEC_VERSION_1_1 } from '../lib/config.js';
import { failure, parseKv, type Case, type CaseContext } from '../lib/context.js';
import { hasCapability } from '../lib/host.js';
import { req } from '../lib/spec.js';

const continues = req(
  'runtime.md',
  'Warnings',
  'Unless otherwise stated, logging a warning does not change the flow of the operation; it MUST continue as if the warning had not been logged.',
);
const kept = req(
  'config.md',
  'Linux Process',
  '`bounding` (array of strings, OPTIONAL) the `bounding` field is an array of bounding capabilities that are kept for the process.',
);

const KNOWN = ['CAP_CHOWN', 'CAP_KILL'];

/**
 * A capability the runtime cannot honour "MUST be logged as a warning by the runtime"
 * (config.md "Linux Process"), and a warning does not change the flow: the container is
 * created and started with the capabilities that can be had.
 */
async function runWith(t: CaseContext, extra: string, why: string): Promise<void> {
  const all = [...KNOWN, extra];
  const b = await t.bundle((c, b) => {
    c.ociVersion = SPEC_VERSION_1_1;
    c.process!.capabilities = { bounding: all, permitted: all, effective: all };
    b.shell(SHOW_CAPS);
  });
  const r = await t.create(b);
  t.ok(r.ok, `create succeeds although ${extra} ${why} (a warning, not an error)`, continues, failure(r));
  if (!r.ok) return;
  const s = await t.start(b.id);
  t.ok(s.ok, 'start succeeds', continues, failure(s));
  if (!s.ok) return;
  await t.stopped(b.id);
  const kv = parseKv(b.stdout());
  t.equal(kv.CapBnd, capMask(KNOWN), 'the grantable capabilities are kept, the other left out', kept);
  await t.deleted(b.id);
}

export const cases: Case[] = [
  {
    name: 'process_capabilities_fail',
    description: 'an unknown capability name is a warning: the container still runs with the known ones',
    async run(t) {
      await runWith(t, 'CAP_CONFORMANCE_UNKNOWN', 'is unknown to the kernel');
    },
  },
  {
    name: 'process_capabilities_fail/ungrantable',
    description: "a capability outside the runtime's bounding set is a warning: the container still runs",
    async run(t) {
      const missing = CAPABILITIES.find((name, bit) => bit <= t.host.capLastCap && !hasCapability(t.host, bit));
      if (!missing) return t.skip("every capability is in this host's bounding set: none is ungrantable");
      await runWith(t, missing, "is not in the runtime's bounding set");
    },
  },
];
