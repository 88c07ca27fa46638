import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { failure, parseKv, type Case } from '../lib/context.js';
import { req } from '../lib/spec.js';

const available = req(
  'config-linux.md',
  'Devices',
  '`devices` (array of objects, OPTIONAL) lists devices that MUST be available in the container.',
);
const mismatch = req(
  'config-linux.md',
  'Devices',
  'If a file already exists at `path` that does not match the requested device, the runtime MUST generate an error.',
);

interface Dev {
  path: string;
  type: string;
  major?: number;
  minor?: number;
  fileMode: number;
  uid: number;
  gid: number;
  /** What busybox `stat -c %F` prints for the type. */
  kind: string;
}

const DEVICES: Dev[] = [
  {
    path: '/dev/conf-char',
    type: 'c',
    major: 1,
    minor: 3,
    fileMode: 0o666,
    uid: 0,
    gid: 0,
    kind: 'character special file',
  },
  {
    path: '/dev/conf-unbuffered',
    type: 'u',
    major: 1,
    minor: 5,
    fileMode: 0o640,
    uid: 1,
    gid: 2,
    kind: 'character special file',
  },
  {
    path: '/dev/conf-block',
    type: 'b',
    major: 7,
    minor: 200,
    fileMode: 0o660,
    uid: 0,
    gid: 6,
    kind: 'block special file',
  },
  { path: '/dev/conf-fifo', type: 'p', fileMode: 0o620, uid: 3, gid: 4, kind: 'fifo' },
  {
    path: '/conf-outside-dev/zero',
    type: 'c',
    major: 1,
    minor: 5,
    fileMode: 0o444,
    uid: 0,
    gid: 0,
    kind: 'character special file',
  },
];

export const cases: Case[] = [
  {
    name: 'linux_devices',
    description: 'each configured device exists with its type, numbers, mode and owner, inside /dev or not',
    async run(t) {
      const b = await t.bundle((c, b) => {
        mkdirSync(join(b.rootfs, 'conf-outside-dev'));
        b.linux.devices = DEVICES.map(({ kind, ...d }) => d);
        b.shell(DEVICES.map((d, i) => `echo "dev${i}=$(stat -c '%F|%t|%T|%a|%u|%g' ${d.path} 2>&1)"`).join('; '));
      });
      const kv = parseKv(await t.runToExit(b));
      DEVICES.forEach((d, i) => {
        const [kind, major, minor, mode, uid, gid] = (kv[`dev${i}`] ?? '').split('|');
        const want = [
          d.kind,
          (d.major ?? 0).toString(16),
          (d.minor ?? 0).toString(16),
          d.fileMode.toString(8),
          String(d.uid),
          String(d.gid),
        ];
        t.equal(
          [kind, major, minor, mode, uid, gid],
          want,
          `${d.path} (type ${d.type}) has its type, major:minor, fileMode, uid and gid`,
          available,
          {
            stat: kv[`dev${i}`],
          },
        );
      });
    },
  },
  {
    name: 'linux_devices/existing_mismatch',
    description: 'a device path where a different file already exists makes create fail',
    async run(t) {
      const b = await t.bundle((c, b) => {
        writeFileSync(join(b.rootfs, 'conf-existing'), 'a regular file\n');
        b.linux.devices = [{ path: '/conf-existing', type: 'c', major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 0 }];
        b.shell('stat -c %F /conf-existing');
      });
      const r = await t.create(b);
      t.ok(!r.ok, 'create fails when a regular file is where a device is asked for', mismatch, {
        ...failure(r),
        ...(r.ok ? { note: 'create succeeded' } : {}),
      });
    },
  },
];
