import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { posix } from 'node:path';
import { RUNTS, Sandbox, baseConfig, sharedRootfs } from '../helpers/containers.js';
import { findResctrlMount, schemataMismatch } from '../../src/linux/intelrdt.js';

/**
 * linux.intelRdt (config-linux.md "IntelRdt"). Where the host has no resctrl mounted,
 * create must fail, and `check` says so. Where one is mounted: the container's group made
 * with its schemata and removed at delete, the init and exec'd processes in its tasks, a
 * named group joined and kept, one with other schemata refused, a MON group.
 */

const rootfs = sharedRootfs(t);
const hasResctrl = /\bresctrl$/m.test(readFileSync('/proc/filesystems', 'utf8'));
const mount = findResctrlMount(readFileSync('/proc/self/mountinfo', 'utf8'));
const noMount = mount === undefined ? 'no resctrl filesystem is mounted here' : false;

const read = (p: string) => readFileSync(p, 'utf8');
const tasks = (dir: string) => read(posix.join(dir, 'tasks')).split('\n').filter(Boolean).map(Number);
/** The root group's schemata lines: valid for any group of this host. */
const rootLines = () => read(posix.join(mount!, 'schemata')).split('\n').map((l) => l.trim()).filter(Boolean);

t.test('features: linux.intelRdt implemented, with schemata and monitoring', async (t) => {
  const sb = new Sandbox(t);
  const r = sb.runts(['features']);
  t.equal(r.status, 0);
  t.same(JSON.parse(r.stdout).linux.intelRdt, { enabled: true, schemata: true, monitoring: true });
});

t.test('no resctrl mounted: create fails with one line saying why, and leaves nothing', { skip: mount === undefined ? false : `resctrl is mounted on ${mount}` }, async (t) => {
  const expected = !hasResctrl
    ? 'config.json: linux.intelRdt: this kernel has no resctrl filesystem (Intel RDT, AMD QoS): not in /proc/filesystems'
    : 'config.json: linux.intelRdt: no resctrl filesystem is mounted in the runtime\'s mount namespace (mount -t resctrl resctrl /sys/fs/resctrl)';
  const sb = new Sandbox(t);
  const c = baseConfig(rootfs, ['true']);
  c.linux.intelRdt = { closID: 'runts-test', l3CacheSchema: 'L3:0=f' };
  const bundle = sb.bundle(c);
  const r = sb.runts(['create', '--bundle', bundle, 'rdt']);
  t.equal(r.status, 1);
  t.equal(r.stderr.trim(), expected);
  t.same(existsSync(sb.root) ? readdirSync(sb.root) : [], [], 'no container left');
  const check = sb.runts(['check', '--bundle', bundle]);
  t.equal(check.status, 1);
  t.match(check.stdout + check.stderr, /linux\.intelRdt: /, 'check names it');
});

/** A container id (and group name) of this test file alone: files run side by side. */
const name = (what: string) => `runts-rdt-${process.pid}-${what}`;

/** A group made beforehand, as an administrator would, removed at the end. */
function preMade(t: Test, what: string, lines: string[]): string {
  const dir = posix.join(mount!, name(what));
  mkdirSync(dir);
  t.teardown(() => {
    if (existsSync(dir)) rmdirSync(dir);
  });
  for (const line of lines) writeFileSync(posix.join(dir, 'schemata'), `${line}\n`);
  return dir;
}

function pidOf(sb: Sandbox, id: string): number {
  return sb.state(id).pid;
}

t.test('the container\'s own group: made with its schemata, init and exec\'d processes in it, removed at delete', { skip: noMount }, async (t) => {
  const sb = new Sandbox(t);
  const id = name('own');
  const group = posix.join(mount!, id);
  const c = baseConfig(rootfs, ['sleep', '1000']);
  c.linux.intelRdt = { schemata: rootLines() };
  t.equal(sb.runts(['create', '--bundle', sb.bundle(c), id]).status, 0);
  const pid = pidOf(sb, id);
  t.ok(tasks(group).includes(pid), 'the init is in the group\'s tasks');
  t.equal(schemataMismatch(read(posix.join(group, 'schemata')), rootLines()), undefined, 'its schemata as asked');
  // detached, the process keeps runts' stdio: no pipes, or spawnSync would wait for it
  const pidFile = posix.join(sb.dir, 'exec.pid');
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  delete env.NODE_EXTRA_CA_CERTS;
  const r = spawnSync(RUNTS, ['--root', sb.root, 'exec', '--detach', '--pid-file', pidFile, id, 'sleep', '1000'], { env, stdio: 'ignore', timeout: 30_000 });
  t.equal(r.status, 0, 'exec succeeds');
  t.ok(tasks(group).includes(Number(read(pidFile))), 'the exec\'d process joined the group');
  t.equal(sb.runts(['delete', '--force', id]).status, 0);
  t.notOk(existsSync(group), 'delete removed the group it made');
});

t.test('a failing schemata write: the kernel\'s reason, and the group made is removed again', { skip: noMount }, async (t) => {
  const sb = new Sandbox(t);
  const id = name('bad');
  const c = baseConfig(rootfs, ['true']);
  c.linux.intelRdt = { schemata: ['L3:0=zz;bad'] };
  const r = sb.runts(['create', '--bundle', sb.bundle(c), id]);
  t.equal(r.status, 1);
  t.match(r.stderr, /^config\.json: linux\.intelRdt\.schemata\[0\]: write "L3:0=zz;bad" to \S+\/schemata( \(resctrl: [^)]+\))?: E[A-Z]+: /);
  t.notOk(existsSync(posix.join(mount!, id)), 'no group left');
  t.same(existsSync(sb.root) ? readdirSync(sb.root) : [], [], 'no container left');
});

t.test('a closID made beforehand: joined, its schemata compared, kept at delete', { skip: noMount }, async (t) => {
  const sb = new Sandbox(t);
  const lines = rootLines();
  const group = preMade(t, 'pre', lines);
  const joinOnly = baseConfig(rootfs, ['sleep', '1000']);
  joinOnly.linux.intelRdt = { closID: name('pre') };
  t.equal(sb.runts(['create', '--bundle', sb.bundle(joinOnly), 'join']).status, 0);
  t.ok(tasks(group).includes(pidOf(sb, 'join')), 'no schemata: the init joined the group');
  const same = baseConfig(rootfs, ['sleep', '1000']);
  same.linux.intelRdt = { closID: name('pre'), schemata: lines.map((l) => l.replace(/=0*/g, '=00')) };
  t.equal(sb.runts(['create', '--bundle', sb.bundle(same), 'same']).status, 0, 'the same schemata, masks written otherwise');
  t.ok(tasks(group).includes(pidOf(sb, 'same')));
  t.equal(sb.runts(['delete', '--force', 'join']).status, 0);
  t.equal(sb.runts(['delete', '--force', 'same']).status, 0);
  t.ok(existsSync(group), 'a named group outlives its containers');
});

t.test('a closID made beforehand with other schemata is refused; one that does not exist too', { skip: noMount }, async (t) => {
  const sb = new Sandbox(t);
  const lines = rootLines();
  const group = preMade(t, 'other', lines);
  const before = read(posix.join(group, 'schemata'));
  // the first domain of the first resource, another value
  const [, resource, domain, value] = /^([^:]+):([^=;]+)=([^;]+)/.exec(lines[0])!;
  const c = baseConfig(rootfs, ['true']);
  c.linux.intelRdt = { closID: name('other'), schemata: [`${resource}:${domain}=${value === '1' ? '2' : '1'}`] };
  const r = sb.runts(['create', '--bundle', sb.bundle(c), 'other']);
  t.equal(r.status, 1);
  t.match(r.stderr, /^config\.json: linux\.intelRdt: resctrl group \S+ exists with other schemata: /);
  t.equal(read(posix.join(group, 'schemata')), before, 'the group unchanged');
  const missing = baseConfig(rootfs, ['true']);
  missing.linux.intelRdt = { closID: name('missing') };
  const m = sb.runts(['create', '--bundle', sb.bundle(missing), 'missing']);
  t.equal(m.status, 1);
  t.match(m.stderr, /^config\.json: linux\.intelRdt\.closID: resctrl group \S+ does not exist/);
  t.notOk(existsSync(posix.join(mount!, name('missing'))), 'not made');
  t.same(existsSync(sb.root) ? readdirSync(sb.root) : [], [], 'no container left');
});

t.test('enableMonitoring: a MON group with the init, removed at delete', { skip: noMount || (existsSync(posix.join(mount ?? '/', 'info', 'L3_MON')) ? false : 'no resctrl monitoring here') }, async (t) => {
  const sb = new Sandbox(t);
  const id = name('mon');
  const c = baseConfig(rootfs, ['sleep', '1000']);
  c.linux.intelRdt = { enableMonitoring: true };
  t.equal(sb.runts(['create', '--bundle', sb.bundle(c), id]).status, 0);
  const group = posix.join(mount!, id);
  const mon = posix.join(group, 'mon_groups', id);
  const pid = pidOf(sb, id);
  t.ok(tasks(group).includes(pid), 'in the control group');
  t.ok(tasks(mon).includes(pid), 'and in its MON group');
  t.equal(sb.runts(['delete', '--force', id]).status, 0);
  t.notOk(existsSync(mon), 'MON group removed');
  t.notOk(existsSync(group), 'group removed');
});

t.test('rootless: refused, resctrl needs root', { skip: noMount }, async (t) => {
  const sb = new Sandbox(t);
  const c = baseConfig(rootfs, ['true']);
  c.linux.intelRdt = {};
  const r = sb.runts(['--rootless', 'true', 'create', '--bundle', sb.bundle(c), name('rootless')]);
  t.equal(r.status, 1);
  t.match(r.stderr, /^config\.json: linux\.intelRdt: resctrl groups can only be made and joined by root/);
  t.notOk(existsSync(posix.join(mount!, name('rootless'))));
});
