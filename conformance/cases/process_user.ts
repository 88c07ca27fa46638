import { parseKv, type Case } from '../lib/context.js';
import { req } from '../lib/spec.js';

const uid = req(
  'config.md',
  'POSIX-platform User',
  '`uid` (int, REQUIRED) specifies the user ID in the container namespace.',
);
const gid = req(
  'config.md',
  'POSIX-platform User',
  '`gid` (int, REQUIRED) specifies the group ID in the container namespace.',
);
const gids = req(
  'config.md',
  'POSIX-platform User',
  '`additionalGids` (array of ints, OPTIONAL) specifies additional group IDs in the container namespace to be added to the process.',
);
const umask = req('config.md', 'POSIX-platform User', '`umask` (int, OPTIONAL) specifies the umask of the user.');

const STATUS =
  'grep -E "^(Uid|Gid|Groups):" /proc/self/status | sed "s/:[[:space:]]*/=/; s/[[:space:]]\\+/ /g; s/ $//"';

export const cases: Case[] = [
  {
    name: 'process_user',
    description: 'uid, gid, additionalGids and umask are those of process.user',
    async run(t) {
      const b = await t.bundle((c, b) => {
        c.process!.user = { uid: 1000, gid: 1001, additionalGids: [1002, 1003], umask: 0o027 };
        b.shell(`${STATUS}; echo "umask=$(umask)"`);
      });
      const kv = parseKv(await t.runToExit(b));
      t.equal(kv.Uid, '1000 1000 1000 1000', 'real, effective, saved and filesystem uid are user.uid', uid);
      t.equal(kv.Gid, '1001 1001 1001 1001', 'real, effective, saved and filesystem gid are user.gid', gid);
      const groups = (kv.Groups ?? '').split(' ').filter(Boolean);
      t.ok(
        groups.includes('1002') && groups.includes('1003'),
        "the additional gids are among the process's groups",
        gids,
        { groups },
      );
      t.equal(kv.umask, '0027', 'the umask is user.umask', umask);
    },
  },
];
