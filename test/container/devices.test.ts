import t from 'tap';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Sandbox, baseConfig, sharedRootfs } from '../helpers/containers.js';

const rootfs = sharedRootfs(t);

function run(sb: Sandbox, id: string, script: string, edit: (c: any) => void) {
  const config = baseConfig(rootfs, ['sh', '-c', script]);
  edit(config);
  return sb.runts(['run', '--bundle', sb.bundle(config), id]);
}

t.test('linux.devices: made with their type, numbers, mode and owner', async (t) => {
  const sb = new Sandbox(t);
  const r = run(sb, 'devs', 'ls -ln /dev/fuse /dev/sub/blk /dev/fifo', (c) => {
    c.linux.devices = [
      { path: '/dev/fuse', type: 'c', major: 10, minor: 229, fileMode: 0o640, uid: 12, gid: 34 },
      { path: '/dev/sub/blk', type: 'b', major: 7, minor: 0, fileMode: 0o600 },
      { path: '/dev/fifo', type: 'p', fileMode: 0o644 },
    ];
  });
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /crw-r-----\s+1 12\s+34\s+10,\s*229 .*\/dev\/fuse/, 'char device, mode 0640, owner 12:34');
  t.match(r.stdout, /brw-------\s+1 0\s+0\s+7,\s*0 .*\/dev\/sub\/blk/, 'block device in a created directory');
  t.match(r.stdout, /prw-r--r--\s+1 0\s+0\s+.*\/dev\/fifo/, 'fifo');
});

t.test('in a user namespace devices are bind-mounted; the host node is untouched', async (t) => {
  const sb = new Sandbox(t);
  const before = statSync('/dev/zero');
  const r = run(sb, 'usrdev', 'head -c 4 /dev/zero | wc -c; grep -c " /dev/zero " /proc/self/mountinfo', (c) => {
    c.linux.namespaces.push({ type: 'user' });
    c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  });
  t.equal(r.status, 0, r.stderr);
  t.same(r.stdout.trim().split('\n').map((s) => s.trim()), ['4', '1'], '/dev/zero works and is a bind mount');
  const after = statSync('/dev/zero');
  t.same([after.uid, after.gid, after.mode], [before.uid, before.gid, before.mode], 'host /dev/zero unchanged');
});

t.test('an impossible device fails at create with one clear error and leaves nothing', async (t) => {
  const sb = new Sandbox(t);
  const config = baseConfig(rootfs, ['true']);
  // a device node on a path that is a directory in the rootfs
  config.linux.devices = [{ path: '/dev/pts', type: 'c', major: 1, minor: 3 }];
  const r = sb.runts(['create', '--bundle', sb.bundle(config), 'baddev']);
  t.equal(r.status, 1);
  t.equal(r.stderr.trim().split('\n').length, 1, 'one line');
  t.match(r.stderr.trim(), /^config\.json: linux\.devices\[0\]: a file that is not device c 1:3 exists at \/dev\/pts$/);
  t.equal(sb.runts(['state', 'baddev']).status, 1, 'no container');
});

/** A host directory bind-mounted at /hostdev, holding a regular file and a null device node. */
function hostDevDir(sb: Sandbox): string {
  const dir = join(sb.dir, 'hostdev');
  mkdirSync(dir);
  writeFileSync(join(dir, 'file'), 'a regular file\n');
  const made = spawnSync('mknod', ['-m', '0666', join(dir, 'null'), 'c', '1', '3']);
  if (made.status !== 0) throw new Error(`mknod: ${made.stderr}`);
  return dir;
}

t.test('a different file already at a device path fails create and is left as it was', async (t) => {
  const sb = new Sandbox(t);
  const dir = hostDevDir(sb);
  for (const [path, want] of [['/hostdev/file', 'device c 1:3'], ['/hostdev/null', 'device c 1:5']] as const) {
    const config = baseConfig(rootfs, ['true']);
    config.mounts.push({ destination: '/hostdev', type: 'bind', source: dir, options: ['bind'] });
    config.linux.devices = [{ path, type: 'c', major: 1, minor: path.endsWith('file') ? 3 : 5 }];
    const r = sb.runts(['create', '--bundle', sb.bundle(config), 'mismatch']);
    t.equal(r.status, 1, `${path}: create fails`);
    t.equal(r.stderr.trim().split('\n').length, 1, 'one line');
    t.equal(r.stderr.trim(), `config.json: linux.devices[0]: a file that is not ${want} exists at ${path}`);
    t.equal(sb.runts(['state', 'mismatch']).status, 1, 'no container');
    t.notOk(existsSync(join(sb.root, 'mismatch')), 'no state dir');
  }
  t.equal(readFileSync(join(dir, 'file'), 'utf8'), 'a regular file\n', 'the file is untouched');
  t.ok(statSync(join(dir, 'null')).isCharacterDevice(), 'the other device is untouched');
  t.same(readdirSync(dir).sort(), ['file', 'null']);
});

t.test('the same device already at the path is made again with the config\'s mode and owner', async (t) => {
  const sb = new Sandbox(t);
  const dir = hostDevDir(sb);
  const r = run(sb, 'samedev', 'ls -ln /hostdev/null', (c) => {
    c.mounts.push({ destination: '/hostdev', type: 'bind', source: dir, options: ['bind'] });
    c.linux.devices = [{ path: '/hostdev/null', type: 'c', major: 1, minor: 3, fileMode: 0o600, uid: 7, gid: 8 }];
  });
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /crw-------\s+1 7\s+8\s+1,\s*3 /, 'mode 0600, owner 7:8');
});

t.test('a device rule with -1 for major and minor means any, as Docker and Podman write "c *:* rw"', async (t) => {
  const sb = new Sandbox(t);
  // /dev/loop-control: no default rule allows it, and opening it needs no capability
  // (made in /dev: the config's /tmp is nodev)
  const open = (id: string, rules: any[] | undefined) => run(sb, id, 'mknod /dev/lc c 10 237 && true < /dev/lc && echo opened', (c) => {
    for (const set of ['bounding', 'effective', 'permitted']) c.process.capabilities[set].push('CAP_MKNOD');
    if (rules) c.linux.resources = { devices: rules };
  });
  const denied = open('anydev0', undefined);
  t.not(denied.status, 0, 'without the rule, opening c 10:237 is denied');
  t.match(denied.stderr, /Operation not permitted/);
  const allowed = open('anydev1', [{ allow: true, type: 'c', major: -1, minor: -1, access: 'rw' }]);
  t.equal(allowed.status, 0, allowed.stderr);
  t.equal(allowed.stdout.trim(), 'opened');
});
