import { execFileSync } from 'node:child_process';
import type { Case } from '../lib/context.js';
import { req } from '../lib/spec.js';

const label = req(
  'config-linux.md',
  'Mount Label',
  '`mountLabel` (string, OPTIONAL) will set the Selinux context for the mounts in the container.',
);

export const cases: Case[] = [
  {
    name: 'linux_mount_label',
    description: "the container's mounts carry the configured SELinux context",
    async run(t) {
      if (!t.host.selinux) return t.skip('SELinux is not enabled on this host');
      const b = await t.bundle((c, b) => b.shell('grep " /dev/shm " /proc/self/mountinfo'));
      // The context the bundle's own files carry: one the loaded policy knows for files.
      const context = execFileSync('stat', ['-c', '%C', b.rootfs], { encoding: 'utf8' }).trim();
      b.linux.mountLabel = context;
      const line = await t.runToExit(b);
      t.ok(
        line.includes(`context="${context}"`) || line.includes(`context=${context}`),
        'a tmpfs mount has the mountLabel context',
        label,
        {
          mountinfo: line.trim(),
        },
      );
    },
  },
];
