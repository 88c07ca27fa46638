import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseKv, type Case } from '../lib/context.js';
import { req } from '../lib/spec.js';

const masked = req(
  'config-linux.md',
  'Masked Paths',
  '`maskedPaths` (array of strings, OPTIONAL) will mask over the provided paths inside the container so that they cannot be read.',
);

export const cases: Case[] = [
  {
    name: 'linux_masked_paths',
    description: 'masked files and directories cannot be read inside the container',
    async run(t) {
      const b = await t.bundle((c, b) => {
        mkdirSync(join(b.rootfs, 'masked-dir'));
        writeFileSync(join(b.rootfs, 'masked-dir/secret'), 'secret-in-dir\n');
        writeFileSync(join(b.rootfs, 'masked-file'), 'secret-in-file\n');
        b.linux.maskedPaths = [...(b.linux.maskedPaths ?? []), '/masked-dir', '/masked-file'];
        b.shell(
          [
            'echo "file=$(cat /masked-file 2>/dev/null)"',
            'echo "dir=$(ls -A /masked-dir 2>/dev/null)$(cat /masked-dir/secret 2>/dev/null)"',
            'echo "kcore=$(head -c 16 /proc/kcore 2>/dev/null | wc -c)"',
          ].join('; '),
        );
      });
      const kv = parseKv(await t.runToExit(b));
      t.equal(kv.file, '', 'a masked file reads as nothing', masked);
      t.equal(kv.dir, '', 'a masked directory lists nothing and its files cannot be read', masked);
      t.equal(kv.kcore, '0', 'a masked /proc file (/proc/kcore) reads as nothing', masked);
    },
  },
];
