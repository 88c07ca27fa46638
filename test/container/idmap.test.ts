import t from 'tap';
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Sandbox, baseConfig, sharedRootfs } from '../helpers/containers.js';

/**
 * Id-mapped mounts (mounts[].options idmap/ridmap, mounts[].uidMappings/gidMappings): the
 * owners a file shows through the mount, seen from inside the container, and the owner a
 * file made through it gets on disk.
 */

const rootfs = sharedRootfs(t);
const MAP = [{ containerID: 0, hostID: 300000, size: 65536 }];

function inUserNamespace(c: any): void {
  c.linux.namespaces.push({ type: 'user' });
  c.linux.uidMappings = MAP;
  c.linux.gidMappings = MAP;
}

/** A host directory with a file owned by 0:0 and one by 1000:1001, removed at the end. */
function source(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'runts-idmap-'));
  chmodSync(dir, 0o777);
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'root-file'), 'r\n');
  writeFileSync(join(dir, 'user-file'), 'u\n');
  chownSync(join(dir, 'user-file'), 1000, 1001);
  return dir;
}

/** A config whose mounts go under a tmpfs on /run, where a user namespace's root may make them. */
function config(args: string[], edit: (c: any) => void): any {
  const c = baseConfig(rootfs, args);
  c.mounts.push({ destination: '/run', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev'] });
  edit(c);
  return c;
}

function run(sb: Sandbox, id: string, script: string, edit: (c: any) => void) {
  const c = config(['sh', '-c', script], edit);
  return sb.runts(['run', '--bundle', sb.bundle(c), id]);
}

const OWNERS = 'stat -c %u:%g /run/idm/root-file /run/idm/user-file';

t.test('mount mappings in a user namespace: disk ids are the container\'s ids', async (t) => {
  const sb = new Sandbox(t);
  const dir = source(t);
  const r = run(sb, 'idmap-own', `${OWNERS}; stat -c %u:%g /run/plain/root-file; touch /run/idm/made`, (c) => {
    inUserNamespace(c);
    c.mounts.push(
      { destination: '/run/idm', type: 'bind', source: dir, options: ['bind', 'idmap'], uidMappings: MAP, gidMappings: MAP },
      { destination: '/run/plain', type: 'bind', source: dir, options: ['bind'] },
    );
  });
  t.equal(r.status, 0, r.stderr);
  t.same(r.stdout.trim().split('\n'), ['0:0', '1000:1001', '65534:65534'], 'mapped through /idm, unmapped through /plain');
  const made = statSync(join(dir, 'made'));
  t.same([made.uid, made.gid], [0, 0], 'a file the container root makes is root\'s on disk');
});

t.test('idmap without mappings takes the container\'s user namespace', async (t) => {
  const sb = new Sandbox(t);
  const dir = source(t);
  const r = run(sb, 'idmap-ns', OWNERS, (c) => {
    inUserNamespace(c);
    c.mounts.push({ destination: '/run/idm', type: 'bind', source: dir, options: ['rbind', 'idmap', 'ro'] });
  });
  t.equal(r.status, 0, r.stderr);
  t.same(r.stdout.trim().split('\n'), ['0:0', '1000:1001']);
});

t.test('mount mappings without a user namespace', async (t) => {
  const sb = new Sandbox(t);
  const dir = source(t);
  const map = [{ containerID: 0, hostID: 1234, size: 1 }];
  const r = run(sb, 'idmap-host', OWNERS, (c) => {
    c.mounts.push({ destination: '/run/idm', type: 'bind', source: dir, options: ['bind', 'idmap'], uidMappings: map, gidMappings: map });
  });
  t.equal(r.status, 0, r.stderr);
  t.same(r.stdout.trim().split('\n'), ['1234:1234', '65534:65534'], 'disk 0 shows as 1234; 1000 has no mapping');
});

t.test('ridmap maps the submounts of an rbind; idmap only the top mount', async (t) => {
  const sb = new Sandbox(t);
  const dir = source(t);
  const sub = join(dir, 'sub');
  mkdirSync(sub);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'mode=0755', 'tmpfs', sub]);
  t.teardown(() => execFileSync('umount', ['-l', sub]));
  writeFileSync(join(sub, 'file'), 's\n');
  const script = 'stat -c %u /run/idm/root-file /run/idm/sub/file';
  for (const [option, want] of [['ridmap', ['0', '0']], ['idmap', ['0', '65534']]] as const) {
    const r = run(sb, `sub-${option}`, script, (c) => {
      inUserNamespace(c);
      c.mounts.push({ destination: '/run/idm', type: 'bind', source: dir, options: ['rbind', option], uidMappings: MAP, gidMappings: MAP });
    });
    t.equal(r.status, 0, r.stderr);
    t.same(r.stdout.trim().split('\n'), want, option);
  }
});

t.test('id-mapped mounts that cannot be made fail create with one clear error and leave nothing', async (t) => {
  const sb = new Sandbox(t);
  const dir = source(t);
  const cases: [string, (c: any) => void, RegExp][] = [
    ['not a bind mount', (c) => {
      inUserNamespace(c);
      c.mounts.push({ destination: '/run/idm', type: 'tmpfs', source: 'tmpfs', options: ['idmap'] });
    }, /^config\.json: mounts\[\d+\]: an id-mapped mount must be a bind mount \(options bind or rbind\)$/],
    ['no mappings, no user namespace', (c) => {
      c.mounts.push({ destination: '/run/idm', type: 'bind', source: dir, options: ['bind', 'idmap'] });
    }, /^config\.json: mounts\[\d+\]\.options: idmap needs the mount's uidMappings and gidMappings, or a user namespace$/],
    ['a missing source', (c) => {
      inUserNamespace(c);
      c.mounts.push({ destination: '/run/idm', type: 'bind', source: join(dir, 'missing'), options: ['bind', 'idmap'] });
    }, /^config\.json: mounts\[\d+\]\.source: open bind source .*\/missing: ENOENT/],
  ];
  for (const [name, edit, message] of cases) {
    const c = config(['true'], edit);
    const r = sb.runts(['create', '--bundle', sb.bundle(c), 'badidmap']);
    t.equal(r.status, 1, `${name}: create fails`);
    t.equal(r.stderr.trim().split('\n').length, 1, `${name}: one line`);
    t.match(r.stderr.trim(), message, name);
    t.equal(sb.runts(['state', 'badidmap']).status, 1, `${name}: no container`);
    t.notOk(existsSync(join(sb.root, 'badidmap')), `${name}: no state dir`);
  }
  t.same(readdirSync(dir).sort(), ['root-file', 'user-file'], 'the source is untouched');
});
