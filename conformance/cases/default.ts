import { readdirSync, readlinkSync } from 'node:fs';
import { parseKv, type Case } from '../lib/context.js';
import { req } from '../lib/spec.js';

const defaultDevices = req(
  'config-linux.md',
  'Default Devices',
  'In addition to any devices configured with this setting, the runtime MUST also supply:',
);
const symlinks = req(
  'runtime-linux.md',
  'Dev symbolic links',
  'While creating the container (step 2 in the lifecycle), runtimes MUST create the following symlinks if the source file exists after processing `mounts`:',
);
const fds = req(
  'runtime-linux.md',
  'File descriptors',
  'By default, only the `stdin`, `stdout` and `stderr` file descriptors are kept open for the application by the runtime.',
);
const filesystems = req(
  'config-linux.md',
  'Default Filesystems',
  "The following filesystems SHOULD be made available in each container's filesystem:",
);

function readlinkOr(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return '?';
  }
}

/** Default devices: path, major and minor. */
const DEVICES: [string, number, number][] = [
  ['/dev/null', 1, 3],
  ['/dev/zero', 1, 5],
  ['/dev/full', 1, 7],
  ['/dev/random', 1, 8],
  ['/dev/urandom', 1, 9],
  ['/dev/tty', 5, 0],
];

const LINKS: [string, string][] = [
  ['/dev/fd', '/proc/self/fd'],
  ['/dev/stdin', '/proc/self/fd/0'],
  ['/dev/stdout', '/proc/self/fd/1'],
  ['/dev/stderr', '/proc/self/fd/2'],
];

const FILESYSTEMS: [string, string][] = [
  ['/proc', 'proc'],
  ['/sys', 'sysfs'],
  ['/dev/pts', 'devpts'],
  ['/dev/shm', 'tmpfs'],
];

export const cases: Case[] = [
  {
    name: 'default',
    description: 'the default configuration gives the default devices, /dev symlinks, filesystems and only fds 0-2',
    async run(t) {
      const b = await t.bundle((c, b) =>
        b.shell(
          [
            ...DEVICES.map(([p], i) => `echo "dev${i}=$(stat -c '%F %t:%T' ${p} 2>&1)"`),
            'echo "ptmx=$(stat -L -c \'%F %t:%T\' /dev/ptmx 2>&1)"',
            'echo "null=$(echo x > /dev/null && echo writable) zero=$(head -c 4 /dev/zero | wc -c)"',
            ...LINKS.map(([p], i) => `echo "link${i}=$(readlink ${p} 2>&1)"`),
            ...FILESYSTEMS.map(
              ([p], i) =>
                `echo "fs${i}=$(awk '$5 == "${p}" { for (i = 7; $i != "-"; i++); print $(i + 1) }' /proc/self/mountinfo | tail -n 1)"`,
            ),
          ].join('; '),
        ),
      );
      const kv = parseKv(await t.runToExit(b));
      DEVICES.forEach(([p, major, minor], i) => {
        t.equal(
          kv[`dev${i}`],
          `character special file ${major.toString(16)}:${minor.toString(16)}`,
          `${p} is the character device ${major}:${minor}`,
          defaultDevices,
        );
      });
      t.equal(
        kv.ptmx,
        'character special file 5:2',
        '/dev/ptmx is (or leads to) the pty multiplexer 5:2',
        defaultDevices,
      );
      t.equal(kv.null, 'writable zero=4', '/dev/null can be written and /dev/zero read', defaultDevices);
      LINKS.forEach(([p, target], i) => t.equal(kv[`link${i}`], target, `${p} is a symlink to ${target}`, symlinks));
      FILESYSTEMS.forEach(([p, type], i) => t.equal(kv[`fs${i}`], type, `${p} is a ${type} mount`, filesystems));

      // The program itself, not a shell, so that the fds seen are the ones the runtime left.
      const sleeper = await t.bundle((c) => {
        c.process!.args = ['sleep', '60'];
      });
      const pid = await t.created(sleeper);
      await t.started(sleeper.id);
      await t.waitFor(sleeper.id, ['running']);
      const open = readdirSync(`/proc/${pid}/fd`)
        .map(Number)
        .sort((x, y) => x - y);
      t.equal(open, [0, 1, 2], 'the process has only fds 0, 1 and 2 open', fds, {
        targets: open.map((fd) => `${fd} -> ${readlinkOr(`/proc/${pid}/fd/${fd}`)}`),
      });
      await t.kill(sleeper.id, 'KILL');
      await t.stopped(sleeper.id);
      await t.deleted(sleeper.id);
    },
  },
];
