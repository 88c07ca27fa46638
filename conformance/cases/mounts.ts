import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseKv, type Case } from '../lib/context.js';
import { req } from '../lib/spec.js';

const order = req('config.md', 'Mounts', 'The runtime MUST mount entries in the listed order.');
const options = req(
  'config.md',
  'Linux mount options',
  'Runtimes MUST/SHOULD/MAY implement the following option strings for Linux:',
);
const fsSpecific = req(
  'config.md',
  'Linux mount options',
  'Runtimes SHOULD treat unknown options as filesystem-specific ones',
);
const bindSource = req(
  'config.md',
  'Mounts',
  '`source` (string, OPTIONAL) A device name, but can also be a file or directory name for bind mounts or a dummy.',
);
const fsType = req(
  'config.md',
  'POSIX-platform Mounts',
  '`type` (string, OPTIONAL) The type of the filesystem to be mounted.',
);

/** Prints the mount options and filesystem type of a mount point, from mountinfo. */
const info = (key: string, path: string) =>
  `echo "${key}=$(awk '$5 == "${path}" { for (i = 7; $i != "-"; i++); print $6 " " $(i + 1) " " $(i + 3) }' /proc/self/mountinfo | tail -n 1)"`;

export const cases: Case[] = [
  {
    name: 'mounts',
    description:
      'mounts are made in order, with their type, source and options (bind, ro, nosuid, nodev, noexec, fs data)',
    async run(t) {
      const b = await t.bundle((c, b) => {
        const src = join(b.dir, 'src');
        mkdirSync(src);
        writeFileSync(join(src, 'hello'), 'hello from the host\n');
        writeFileSync(join(b.dir, 'file-src'), 'a bind-mounted file\n');
        mkdirSync(join(b.dir, 'rw-src'), { mode: 0o777 });
        for (const d of ['mnt/tmpfs', 'mnt/ro', 'mnt/rw', 'mnt/order', 'mnt/exec'])
          mkdirSync(join(b.rootfs, d), { recursive: true });
        writeFileSync(join(b.rootfs, 'etc/bound-file'), '');
        c.mounts = [
          ...(c.mounts ?? []),
          {
            destination: '/mnt/tmpfs',
            type: 'tmpfs',
            source: 'conformance',
            options: ['nosuid', 'nodev', 'noexec', 'size=1m'],
          },
          { destination: '/mnt/ro', type: 'bind', source: src, options: ['bind', 'ro'] },
          { destination: '/mnt/rw', type: 'none', source: join(b.dir, 'rw-src'), options: ['rbind', 'rw'] },
          { destination: '/etc/bound-file', type: 'bind', source: join(b.dir, 'file-src'), options: ['bind', 'ro'] },
          { destination: '/mnt/order', type: 'tmpfs', source: 'order', options: ['size=1m'] },
          { destination: '/mnt/order/inner', type: 'bind', source: src, options: ['bind'] },
          { destination: '/mnt/exec', type: 'tmpfs', source: 'exec', options: ['exec', 'size=1m'] },
        ];
        b.shell(
          [
            info('tmpfs', '/mnt/tmpfs'),
            'echo "roread=$(cat /mnt/ro/hello)"',
            'touch /mnt/ro/new 2>/dev/null && echo rowrite=yes || echo rowrite=no',
            'echo written > /mnt/rw/from-container && echo rwwrite=yes || echo rwwrite=no',
            'echo "file=$(cat /etc/bound-file)"',
            'echo "order=$(cat /mnt/order/inner/hello 2>&1)"',
            'printf "#!/bin/sh\\necho ran\\n" > /mnt/tmpfs/x; chmod +x /mnt/tmpfs/x; /mnt/tmpfs/x >/dev/null 2>&1 && echo noexec=ran || echo noexec=refused',
            'printf "#!/bin/sh\\necho ran\\n" > /mnt/exec/x; chmod +x /mnt/exec/x; echo "exec=$(/mnt/exec/x 2>&1)"',
          ].join('; '),
        );
      });
      const kv = parseKv(await t.runToExit(b));
      const [opts = '', type = '', superOpts = ''] = (kv.tmpfs ?? '').split(' ');
      t.equal(type, 'tmpfs', 'the tmpfs mount has type tmpfs', fsType, { mountinfo: kv.tmpfs });
      t.ok(
        ['nosuid', 'nodev', 'noexec'].every((o) => opts.split(',').includes(o)),
        'nosuid, nodev and noexec are applied',
        options,
        {
          mountinfo: kv.tmpfs,
        },
      );
      t.ok(superOpts.split(',').includes('size=1024k'), 'size=1m reaches tmpfs as filesystem data', fsSpecific, {
        mountinfo: kv.tmpfs,
      });
      t.equal(kv.noexec, 'refused', 'a program on the noexec mount cannot run', options);
      t.equal(kv.exec, 'ran', 'a program on an exec mount runs', options);
      t.equal(kv.roread, 'hello from the host', 'a bind mount shows its source directory', bindSource);
      t.equal(kv.rowrite, 'no', 'a bind mount with ro cannot be written', options);
      const fromContainer = join(b.dir, 'rw-src/from-container');
      t.ok(
        kv.rwwrite === 'yes' && existsSync(fromContainer) && readFileSync(fromContainer, 'utf8') === 'written\n',
        'an rbind rw mount is written through to its source',
        options,
      );
      t.equal(kv.file, 'a bind-mounted file', 'a file can be bind-mounted onto a file', bindSource);
      t.equal(kv.order, 'hello from the host', 'a mount listed after a tmpfs lands on top of it', order);
    },
  },
];
