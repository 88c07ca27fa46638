import { parseKv, type Case } from '../lib/context.js';
import { securityReq } from '../lib/spec.js';

const ownKeyring = securityReq(
  'The session keyring',
  'As with runc, the init joins a new session keyring `_ses.<id>` before anything else in the container, and an exec\'d process joins that same keyring (`src/linux/keyring.ts`); `create --no-new-keyring` (an engine\'s choice) keeps the caller\'s.',
);

export const cases: Case[] = [
  {
    name: 'security_keyring',
    description: 'the container has a session keyring of its own, named after it (runc: _ses.<id>, crun: <id>), not the caller\'s',
    async run(t) {
      let id = '';
      const b = await t.bundle((c, b) => {
        id = b.id;
        // runc's default config masks /proc/keys: unmasked to look
        b.linux.maskedPaths = (b.linux.maskedPaths ?? []).filter((p) => p !== '/proc/keys');
        b.shell(`echo "keyring=$(grep -cE ' keyring +(_ses\\.)?${id}: ' /proc/keys)"`);
      });
      const kv = parseKv(await t.runToExit(b));
      t.equal(kv.keyring, '1', `the container's /proc/keys lists a keyring named after it (${id})`, ownKeyring, { stdout: b.stdout() });
    },
  },
];
