import { failure, type Case } from '../lib/context.js';
import { req } from '../lib/spec.js';

const wrongType = req(
  'config-linux.md',
  'Namespaces',
  'The runtime MUST generate an error if `path` is not associated with a namespace of type `type`.',
);

/** Each type, with a namespace file of another type to offer it. */
const WRONG: [string, string][] = [
  ['cgroup', 'ipc'],
  ['ipc', 'mnt'],
  ['mount', 'net'],
  ['network', 'pid'],
  ['pid', 'uts'],
  ['user', 'uts'],
  ['uts', 'cgroup'],
];

export const cases: Case[] = [
  {
    name: 'linux_ns_path_type',
    description: "a namespace path of another type than the entry's makes create fail",
    async run(t) {
      for (const [type, other] of WRONG) {
        const path = `/proc/${process.pid}/ns/${other}`;
        const b = await t.bundle((c, b) => {
          const others = (b.linux.namespaces ?? []).filter((n) => n.type !== type);
          b.linux.namespaces = [...others, { type, path }];
          b.shell('true');
        });
        const r = await t.create(b);
        t.ok(
          !r.ok,
          `create fails for a ${type} namespace whose path ${path} is a ${other} namespace`,
          wrongType,
          failure(r),
        );
        if (r.ok) await t.delete(b.id, true);
      }
    },
  },
];
