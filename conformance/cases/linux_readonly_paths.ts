import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseKv, type Case } from '../lib/context.js';
import { req } from '../lib/spec.js';

const readonly = req(
  'config-linux.md',
  'Readonly Paths',
  '`readonlyPaths` (array of strings, OPTIONAL) will set the provided paths as readonly inside the container.',
);

export const cases: Case[] = [
  {
    name: 'linux_readonly_paths',
    description: 'read-only paths can be read but not written, even by root',
    async run(t) {
      const b = await t.bundle((c, b) => {
        mkdirSync(join(b.rootfs, 'ro-dir'));
        writeFileSync(join(b.rootfs, 'ro-dir/file'), 'in-dir\n');
        writeFileSync(join(b.rootfs, 'ro-file'), 'ro-file\n');
        b.linux.readonlyPaths = [...(b.linux.readonlyPaths ?? []), '/ro-dir', '/ro-file'];
        b.shell(
          [
            'echo "read=$(cat /ro-file /ro-dir/file | tr "\\n" " ")"',
            'touch /ro-dir/new 2>/dev/null && echo create=yes || echo create=no',
            '(echo more >> /ro-file) 2>/dev/null && echo append=yes || echo append=no',
            '(echo x > /proc/sys/kernel/domainname) 2>/dev/null && echo procsys=yes || echo procsys=no',
          ].join('; '),
        );
      });
      const kv = parseKv(await t.runToExit(b));
      t.equal(kv.read, 'ro-file in-dir ', 'the read-only file and directory can be read', readonly);
      t.equal(kv.create, 'no', 'no file can be made in a read-only directory', readonly);
      t.equal(kv.append, 'no', 'a read-only file cannot be written', readonly);
      t.equal(kv.procsys, 'no', 'a read-only /proc path (/proc/sys) cannot be written', readonly);
    },
  },
];
