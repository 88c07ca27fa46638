import type { Case } from '../lib/context.js';
import { nsInode } from '../lib/host.js';
import { req } from '../lib/spec.js';

const inherit = req(
  'config-linux.md',
  'Namespaces',
  'If a namespace type is not specified in the `namespaces` array, the container MUST inherit the runtime namespace of that type.',
);

/** Namespace types as /proc/<pid>/ns names them, mount aside (the container keeps its own). */
const INHERITED = ['pid', 'net', 'ipc', 'uts', 'cgroup', 'user', 'time'];

export const cases: Case[] = [
  {
    name: 'linux_ns_itype',
    description: "a namespace type left out of the config is the runtime's own namespace of that type",
    async run(t) {
      // Only a mount namespace: the container's mounts must not land in the host's table.
      const b = await t.bundle((c, b) => {
        b.linux.namespaces = [{ type: 'mount' }];
        delete c.hostname;
        b.shell('exec sleep 60');
      });
      const pid = await t.created(b);
      for (const type of INHERITED.filter((n) => t.host.namespaces.has(n))) {
        t.equal(
          nsInode(pid, type),
          nsInode('self', type),
          `the container's ${type} namespace is the runtime's`,
          inherit,
        );
      }
      await t.kill(b.id, 'KILL');
      await t.stopped(b.id);
      await t.deleted(b.id);
    },
  },
];
