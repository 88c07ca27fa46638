import t from 'tap';
import { readFileSync } from 'node:fs';
import { Sandbox, baseConfig, sharedRootfs } from '../helpers/containers.js';

/**
 * The session keyring: a new `_ses.<id>` for the container (and its exec'd processes), as
 * runc makes; none with create --no-new-keyring. /proc/keys lists the keys a process may
 * view, its own session keyring among them.
 */

const rootfs = sharedRootfs(t);

/** The example config masks /proc/keys, as runc's does: unmasked here, to look. */
function config(args: string[]): any {
  const c = baseConfig(rootfs, args);
  c.linux.maskedPaths = c.linux.maskedPaths.filter((p: string) => p !== '/proc/keys');
  return c;
}

/** The /proc/keys line of keyring `name`, as [serial, perm], or undefined. */
function keyring(procKeys: string, name: string): [string, string] | undefined {
  const m = new RegExp(`^([0-9a-f]+) \\S+\\s+\\d+ perm ([0-9a-f]+)\\s+\\d+\\s+\\d+ keyring\\s+${name.replace('.', '\\.')}:`, 'm').exec(procKeys);
  return m ? [m[1], m[2]] : undefined;
}

t.test('create joins a new session keyring _ses.<id>, searchable by its owner; exec joins the same one', async (t) => {
  const sb = new Sandbox(t);
  const bundle = sb.bundle(config(['sleep', '1000']));
  t.equal(sb.runts(['create', '--bundle', bundle, 'k']).status, 0);
  const outside = keyring(readFileSync('/proc/keys', 'utf8'), '_ses.k');
  t.ok(outside, 'the created container\'s keyring exists on the host');
  t.equal(outside?.[1], '3f1b0000', 'possessor all; owner view, read, search, link');
  t.equal(sb.runts(['start', 'k']).status, 0);
  const inside = sb.runts(['exec', 'k', 'cat', '/proc/keys']);
  t.equal(inside.status, 0, inside.stderr);
  t.same(keyring(inside.stdout, '_ses.k'), outside, 'an exec\'d process is in the same keyring');
});

t.test('a container in a user namespace: the keyring is searchable by others', async (t) => {
  const sb = new Sandbox(t);
  const c = config(['cat', '/proc/keys']);
  c.linux.namespaces.push({ type: 'user' });
  c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  const r = sb.runts(['run', '--bundle', sb.bundle(c), 'u']);
  t.equal(r.status, 0, r.stderr);
  t.equal(keyring(r.stdout, '_ses.u')?.[1], '3f130008', r.stdout);
});

t.test('--no-new-keyring: no keyring of the container\'s own, for create and exec', async (t) => {
  const sb = new Sandbox(t);
  const bundle = sb.bundle(config(['sleep', '1000']));
  t.equal(sb.runts(['create', '--no-new-keyring', '--bundle', bundle, 'n']).status, 0);
  t.equal(keyring(readFileSync('/proc/keys', 'utf8'), '_ses.n'), undefined, 'no _ses.n on the host');
  t.equal(sb.runts(['start', 'n']).status, 0);
  const inside = sb.runts(['exec', 'n', 'cat', '/proc/keys']);
  t.equal(inside.status, 0, inside.stderr);
  t.equal(keyring(inside.stdout, '_ses.n'), undefined, 'none inside');
  const run = sb.runts(['run', '--no-new-keyring', '--bundle', sb.bundle(config(['cat', '/proc/keys'])), 'r']);
  t.equal(run.status, 0, run.stderr);
  t.equal(keyring(run.stdout, '_ses.r'), undefined, 'run --no-new-keyring too');
});
