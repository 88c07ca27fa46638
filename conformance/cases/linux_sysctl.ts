import { parseKv, type Case } from '../lib/context.js';
import { req } from '../lib/spec.js';

const sysctl = req(
  'config-linux.md',
  'Sysctl',
  '`sysctl` (object, OPTIONAL) allows kernel parameters to be modified at runtime for the container.',
);

/** Namespaced parameters only (network and IPC), so the host's values stay as they are. */
const SETTINGS: Record<string, string> = {
  'net.ipv4.ip_forward': '1',
  'net.ipv4.tcp_syncookies': '0',
  'kernel.msgmax': '4096',
  'kernel.shmmni': '1024',
};

export const cases: Case[] = [
  {
    name: 'linux_sysctl',
    description: 'namespaced kernel parameters have the configured values inside the container',
    async run(t) {
      const b = await t.bundle((c, b) => {
        b.linux.sysctl = SETTINGS;
        b.shell(
          Object.keys(SETTINGS)
            .map((k) => `echo "${k}=$(cat /proc/sys/${k.replace(/\./g, '/')})"`)
            .join('; '),
        );
      });
      const kv = parseKv(await t.runToExit(b));
      for (const [k, v] of Object.entries(SETTINGS)) t.equal(kv[k], v, `${k} is ${v}`, sysctl);
    },
  },
];
