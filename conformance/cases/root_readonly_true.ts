import { parseKv, type Case } from '../lib/context.js';
import { req } from '../lib/spec.js';

const readonly = req(
  'config.md',
  'Root',
  '`readonly` (bool, OPTIONAL) If true then the root filesystem MUST be read-only inside the container, defaults to false.',
);

const PROBE = [
  'touch /conformance-write 2>/dev/null && echo write=yes || echo write=no',
  'echo "opts=$(awk \'$5 == "/" { print $6 }\' /proc/self/mountinfo | tail -n 1)"',
].join('; ');

export const cases: Case[] = [
  {
    name: 'root_readonly_true',
    description: 'with root.readonly true the root filesystem cannot be written, even by root',
    async run(t) {
      const b = await t.bundle((c, b) => {
        c.root.readonly = true;
        b.shell(PROBE);
      });
      const kv = parseKv(await t.runToExit(b));
      t.equal(kv.write, 'no', 'a file cannot be created in /', readonly);
      t.ok((kv.opts ?? '').split(',').includes('ro'), 'the root mount is read-only', readonly, { options: kv.opts });
    },
  },
  {
    name: 'root_readonly_true/false',
    description: 'with root.readonly false (and by default) the root filesystem is writable',
    async run(t) {
      for (const value of [false, undefined]) {
        const b = await t.bundle((c, b) => {
          if (value === undefined) delete c.root.readonly;
          else c.root.readonly = value;
          b.shell(PROBE);
        });
        const kv = parseKv(await t.runToExit(b));
        t.equal(kv.write, 'yes', `with readonly ${String(value)}, a file can be created in /`, readonly);
      }
    },
  },
];
