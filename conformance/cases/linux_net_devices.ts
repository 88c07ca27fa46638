import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { SPEC_VERSION_1_3 } from '../lib/config.js';
import { failure, type Case, type CaseContext } from '../lib/context.js';
import { req } from '../lib/spec.js';

const made = req(
  'config-linux.md',
  'Network Devices',
  '`netDevices` (object, OPTIONAL) - A set of network devices that MUST be made available in the container.',
);
const renamed = req('config-linux.md', 'Network Devices', '`name` (string, OPTIONAL) - the name of the network device inside the container namespace.');
const addresses = req(
  'config-linux.md',
  'Network Devices',
  'The runtime MUST preserve existing network interface attributes, including all permanent IP addresses (IFA_F_PERMANENT flag) of any family with global scope (RT_SCOPE_UNIVERSE value) as defined in RFC 3549 Section 2.3.3.2.',
);
const up = req(
  'config-linux.md',
  'Network Devices',
  'The runtime MUST set the network device state to "up" after moving it to the network namespace to allow the container to send and receive network traffic through that device.',
);
const exists = req(
  'config-linux.md',
  'Network Devices',
  'If a network device with the specified name already exists in the container namespace, the runtime MUST generate an error, unless the user has provided a template by appending `%d` to the new name.',
);

/**
 * One end of a veth pair made for the case, with a documentation address (no traffic is
 * sent); cleanup deletes it if it is still on the host.
 */
function vethPair(t: CaseContext): string | undefined {
  const name = `rtc${process.pid % 100000}`;
  const add = spawnSync('ip', ['link', 'add', `${name}a`, 'type', 'veth', 'peer', 'name', `${name}b`], { encoding: 'utf8' });
  if (add.status !== 0) return undefined;
  spawnSync('ip', ['addr', 'add', '192.0.2.1/24', 'dev', `${name}a`]);
  t.hostLink(`${name}a`);
  return `${name}a`;
}

export const cases: Case[] = [
  {
    name: 'linux_net_devices',
    description: 'a host interface is moved into the container, renamed, with its permanent global address, and up',
    async run(t) {
      const dev = vethPair(t);
      if (!dev) return t.skip('cannot make a veth pair with ip(8)');
      const b = await t.bundle((c, b) => {
        c.ociVersion = SPEC_VERSION_1_3;
        b.linux.netDevices = { [dev]: { name: 'ctr0' } };
        b.shell('ip -o link show ctr0; ip -o addr show ctr0');
      });
      const out = await t.runToExit(b);
      t.ok(/^\d+: ctr0[@:]/m.test(out), 'the device is in the container', made, { stdout: out });
      t.ok(/^\d+: ctr0[@:]/m.test(out) && !existsSync(`/sys/class/net/${dev}`), 'under the name asked for, and no longer on the host', renamed, { stdout: out });
      t.ok(/inet 192\.0\.2\.1\/24 .*scope global/.test(out), 'its permanent global address is kept', addresses, { stdout: out });
      t.ok(/^\d+: ctr0\S* <[^>]*\bUP\b/m.test(out), 'it is up', up, { stdout: out });
    },
  },
  {
    name: 'linux_net_devices/name_exists',
    description: 'a device whose name is taken in the container\'s network namespace (lo) fails create',
    async run(t) {
      const dev = vethPair(t);
      if (!dev) return t.skip('cannot make a veth pair with ip(8)');
      const b = await t.bundle((c, b) => {
        c.ociVersion = SPEC_VERSION_1_3;
        b.linux.netDevices = { [dev]: { name: 'lo' } };
        b.shell('true');
      });
      const r = await t.create(b);
      t.ok(!r.ok, 'create fails', exists, failure(r));
    },
  },
];
