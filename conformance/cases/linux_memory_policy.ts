import { existsSync, readFileSync } from 'node:fs';
import { SPEC_VERSION_1_3 } from '../lib/config.js';
import { parseKv, type Case } from '../lib/context.js';
import { req } from '../lib/spec.js';

const memoryPolicy = req(
  'config-linux.md',
  'Memory policy',
  '`memoryPolicy` (object, OPTIONAL) sets the NUMA memory policy for the container.',
);
const flags = req('config-linux.md', 'Memory policy', '`flags` (array of strings, OPTIONAL) - list of flags to use with set_mempolicy(2).');

const HAS_MEMORY = '/sys/devices/system/node/has_memory';

/** Node 0, which every NUMA kernel has with memory on a machine of one node. */
function nodeZero(): boolean {
  return existsSync(HAS_MEMORY) && /(^|,)0(-|,|$)/.test(readFileSync(HAS_MEMORY, 'utf8').trim());
}

export const cases: Case[] = [
  {
    name: 'linux_memory_policy',
    description: 'the container process runs under the NUMA memory policy of linux.memoryPolicy (numa_maps)',
    async run(t) {
      if (!nodeZero()) return t.skip('no NUMA node 0 with memory on this host');
      const b = await t.bundle((c, b) => {
        c.ociVersion = SPEC_VERSION_1_3;
        b.linux.memoryPolicy = { mode: 'MPOL_INTERLEAVE', nodes: '0', flags: ['MPOL_F_STATIC_NODES'] };
        // numa_maps: address, then the policy of the mapping (the task's, when it has none)
        b.shell('echo "policy=$(head -n 1 /proc/self/numa_maps | cut -d " " -f 2)"');
      });
      const kv = parseKv(await t.runToExit(b));
      t.ok((kv.policy ?? '').startsWith('interleave'), 'MPOL_INTERLEAVE is the process\'s policy', memoryPolicy, { policy: kv.policy });
      t.equal(kv.policy, 'interleave=static:0', 'on node 0, with MPOL_F_STATIC_NODES', flags);
    },
  },
];
