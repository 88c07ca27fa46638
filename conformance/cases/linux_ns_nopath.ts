import { failure, type Case } from '../lib/context.js';
import { nsInode } from '../lib/host.js';
import { PROC_NAME } from '../lib/namespaces.js';
import { req } from '../lib/spec.js';

const fresh = req(
  'config-linux.md',
  'Namespaces',
  'If `path` is not specified, the runtime MUST create a new container namespace of type `type`.',
);
const cannot = req(
  'runtime.md',
  'Lifecycle',
  'If the runtime is unable to create the environment specified in the `config.json`, it MUST generate an error.',
);

export const cases: Case[] = [
  {
    name: 'linux_ns_nopath',
    description: 'each namespace listed without a path is a new namespace',
    async run(t) {
      const types = ['pid', 'network', 'mount', 'ipc', 'uts', 'cgroup'];
      const b = await t.bundle((c, b) => {
        b.linux.namespaces = types.map((type) => ({ type }));
        b.shell('exec sleep 60');
      });
      const pid = await t.created(b);
      for (const type of types) {
        const name = PROC_NAME[type];
        t.ok(nsInode(pid, name) !== nsInode('self', name), `the container has a new ${type} namespace`, fresh, {
          container: nsInode(pid, name),
          runtime: nsInode('self', name),
        });
      }
      await t.kill(b.id, 'KILL');
      await t.stopped(b.id);
      await t.deleted(b.id);
    },
  },
  {
    name: 'linux_ns_nopath/time',
    description: 'a time namespace without a path is a new one, or create fails (support is a SHOULD)',
    async run(t) {
      if (!t.host.namespaces.has('time')) return t.skip('this kernel has no time namespaces');
      const b = await t.bundle((c, b) => {
        b.linux.namespaces = [...(b.linux.namespaces ?? []), { type: 'time' }];
        b.shell('exec sleep 60');
      });
      const r = await t.create(b);
      if (!r.ok) {
        t.ok(!r.ok, 'create fails: the runtime does not support time namespaces, and says so', cannot, failure(r));
        return;
      }
      const s = await t.state(b.id);
      const pid = s.state?.pid ?? 0;
      t.ok(
        pid > 0 && nsInode(pid, 'time') !== nsInode('self', 'time'),
        'the container has a new time namespace',
        fresh,
      );
      await t.kill(b.id, 'KILL');
      await t.stopped(b.id);
      await t.deleted(b.id);
    },
  },
];
