import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { failure, parseKv, type Bundle, type Case, type CaseContext } from '../lib/context.js';
import { runcReq, securityReq } from '../lib/spec.js';

const ownKeyring = securityReq(
  'The session keyring',
  'As with runc, the init joins a new session keyring `_ses.<id>` before anything else in the container, and an exec\'d process joins that same keyring (`src/linux/keyring.ts`); `create --no-new-keyring` (an engine\'s choice) keeps the caller\'s.',
);
const noNewKeyring = runcReq(
  'create',
  '--no-new-keyring          do not create a new session keyring for the container.  This will cause the container to inherit the calling processes session key',
);

/**
 * Runs the runtime in a new session keyring named `name` that only its possessors may
 * view (KEYCTL_JOIN_SESSION_KEYRING, then KEYCTL_SETPERM 0x3f000000), and writes the
 * keyring's serial to `serialFile`: a container lists it in /proc/keys only when the
 * container's process holds it as its session keyring.
 */
function inKeyring(name: string, serialFile: string): string[] {
  const script = `
require "syscall.ph";
my ($name, $file) = splice(@ARGV, 0, 2);
my $serial = syscall(&SYS_keyctl, 1, $name);
$serial > 0 or die "keyctl(KEYCTL_JOIN_SESSION_KEYRING): $!\\n";
syscall(&SYS_keyctl, 5, $serial, 0x3f000000) == 0 or die "keyctl(KEYCTL_SETPERM): $!\\n";
open(my $f, ">", $file) or die "$file: $!\\n";
printf $f "%x\\n", $serial;
close $f;
exec @ARGV or die "exec $ARGV[0]: $!\\n";
`;
  return ['perl', '-e', script, name, serialFile];
}

/** A container that prints the /proc/keys lines of keyrings named `name` or after itself. */
async function lister(t: CaseContext, name: string): Promise<Bundle> {
  return t.bundle((c, b) => {
    // runc's default config masks /proc/keys: unmasked to look
    b.linux.maskedPaths = (b.linux.maskedPaths ?? []).filter((p) => p !== '/proc/keys');
    b.shell(
      `echo "caller=$(grep -E ' keyring +${name}: ' /proc/keys | cut -d' ' -f1)"; ` +
        `echo "own=$(grep -cE ' keyring +(_ses\\.)?${b.id}: ' /proc/keys)"`,
    );
  });
}

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
  {
    name: 'security_keyring/no_new_keyring',
    description: 'create --no-new-keyring: the container keeps the caller\'s session keyring (same serial), and has none named after it',
    async run(t) {
      const name = `conformance-${t.suite.runId}`;
      const serialFile = join(t.dir, 'caller-keyring');
      const launcher = inKeyring(name, serialFile);
      const serial = () => Number.parseInt(readFileSync(serialFile, 'utf8'), 16);

      // the control: without the flag the container's own keyring hides the caller's
      const plain = await lister(t, name);
      const r1 = await t.create(plain, { launcher });
      t.require(r1.ok, `create succeeds for ${plain.id}`, ownKeyring, failure(r1));
      await t.started(plain.id);
      await t.stopped(plain.id);
      await t.deleted(plain.id);
      const kv1 = parseKv(plain.stdout());
      t.note(`the caller's keyring ${name} has serial ${serial().toString(16)}`);
      t.ok(kv1.own === '1' && kv1.caller === '', 'without --no-new-keyring the container has a keyring of its own, not the caller\'s', ownKeyring, {
        stdout: plain.stdout(),
      });

      const kept = await lister(t, name);
      const r2 = await t.create(kept, { launcher, flags: ['--no-new-keyring'] });
      t.require(r2.ok, 'create --no-new-keyring succeeds', noNewKeyring, failure(r2));
      await t.started(kept.id);
      await t.stopped(kept.id);
      await t.deleted(kept.id);
      const kv2 = parseKv(kept.stdout());
      const found = kv2.caller ? Number.parseInt(kv2.caller, 16) : undefined;
      t.equal(found, serial(), 'with --no-new-keyring the container holds the caller\'s session keyring (same serial)', noNewKeyring, {
        stdout: kept.stdout(),
      });
      t.equal(kv2.own, '0', 'and no keyring named after it', noNewKeyring, { stdout: kept.stdout() });
    },
  },
];
