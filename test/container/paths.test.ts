import t from 'tap';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Sandbox, baseConfig, sharedRootfs } from '../helpers/containers.js';

/** linux.maskedPaths, linux.readonlyPaths, linux.sysctl and linux.mountLabel, against the kernel. */

const rootfs = sharedRootfs(t);
mkdirSync(join(rootfs, 'secret-dir'));
writeFileSync(join(rootfs, 'secret-dir', 'inside'), 'hidden\n');
writeFileSync(join(rootfs, 'secret-file'), 'secret\n');

function inUserNamespace(c: any): void {
  c.linux.namespaces.push({ type: 'user' });
  c.linux.uidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
  c.linux.gidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
}

const MODES: [string, (c: any) => void][] = [['', () => {}], [' in a user namespace', inUserNamespace]];

/** Runs `script` in a container made from an `edit`ed config and returns its stdout. */
function inside(sb: Sandbox, id: string, script: string, edit: (c: any) => void): string {
  const config = baseConfig(rootfs, ['sh', '-c', script]);
  edit(config);
  const r = sb.runts(['run', '--bundle', sb.bundle(config), id]);
  if (r.status !== 0) throw new Error(`run ${id} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** Runs create; `left` tells whether a state directory remains. */
function create(sb: Sandbox, id: string, edit: (c: any) => void): { status: number | null; stderr: string; left: boolean } {
  const config = baseConfig(rootfs, ['true']);
  edit(config);
  const r = sb.runts(['create', '--bundle', sb.bundle(config), id]);
  return { status: r.status, stderr: r.stderr, left: existsSync(join(sb.root, id)) };
}

/** The mountinfo line of the top mount at a mount point, split at its fields. */
function mountLine(mountinfo: string, point: string): { root: string; options: string[]; fstype: string; source: string } | undefined {
  let found: { root: string; options: string[]; fstype: string; source: string } | undefined;
  for (const line of mountinfo.split('\n')) {
    const [left, right] = line.split(' - ');
    const f = left?.split(' ') ?? [];
    const [fstype, source] = right?.split(' ') ?? [];
    if (f[4] === point && right) found = { root: f[3], options: f[5].split(','), fstype, source };
  }
  return found;
}

for (const [mode, userns] of MODES) {
  t.test(`masked paths: files read empty, directories list empty, missing ones skipped${mode}`, async (t) => {
    const sb = new Sandbox(t);
    const out = inside(sb, 'paths-masked', [
      'echo "file=[$(cat /secret-file)]"',
      'echo "dir=[$(ls -A /secret-dir)]"',
      'echo "keys=[$(cat /proc/keys)]"',
      'echo "firmware=[$(ls -A /sys/firmware)]"',
      'touch /secret-dir/new 2>/dev/null && echo dir-writable || echo dir-read-only',
      'echo data > /secret-file && echo file-writes-vanish',
      'echo ---',
      'cat /proc/self/mountinfo',
    ].join('; '), (c) => {
      userns(c);
      c.linux.maskedPaths = ['/secret-file', '/secret-dir', '/no/such/path', '/proc/keys', '/sys/firmware'];
    });
    const [report, mountinfo] = out.split('---\n');
    t.match(report, /^file=\[\]$/m, 'a masked file reads empty');
    t.match(report, /^dir=\[\]$/m, 'a masked directory lists empty');
    t.match(report, /^keys=\[\]$/m, '/proc/keys');
    t.match(report, /^firmware=\[\]$/m, '/sys/firmware');
    t.match(report, /^dir-read-only$/m, 'a masked directory is read-only');
    t.match(report, /^file-writes-vanish$/m, 'a masked file is /dev/null');
    t.equal(mountLine(mountinfo, '/secret-file')?.root, '/null', 'the file is covered by a bind mount of /dev/null');
    const dir = mountLine(mountinfo, '/secret-dir');
    t.equal(dir?.fstype, 'tmpfs', 'the directory is covered by a tmpfs');
    t.equal(dir?.source, 'tmpfs', 'whose source is "tmpfs", as with runc');
    t.equal(dir?.options[0], 'ro', 'mounted read-only');
    t.notOk(mountinfo.includes('/no/such'), 'a missing path is skipped');
    t.equal(readFileSync(join(rootfs, 'secret-file'), 'utf8'), 'secret\n', 'the rootfs file is untouched');
  });

  t.test(`readonly paths: EROFS inside, submounts too, other flags kept${mode}`, async (t) => {
    const sb = new Sandbox(t);
    const out = inside(sb, 'paths-readonly', [
      '{ echo 1 > /proc/sys/kernel/shmmax; } 2>&1',
      'for f in /data/a /data/sub/b /etc/c /tmp/d; do touch $f 2>/dev/null && echo "$f writable" || echo "$f read-only"; done',
      'echo ---',
      'cat /proc/self/mountinfo',
    ].join('; '), (c) => {
      userns(c);
      c.root.readonly = false;
      c.mounts[0].options = ['nosuid', 'noexec', 'nodev'];
      c.mounts.push({ destination: '/data', type: 'tmpfs', source: 'tmpfs' });
      c.mounts.push({ destination: '/data/sub', type: 'tmpfs', source: 'tmpfs' });
      c.linux.readonlyPaths = ['/proc/sys', '/data', '/no/such/path', '/etc'];
    });
    const [report, mountinfo] = out.split('---\n');
    t.match(report, /can't create \/proc\/sys\/kernel\/shmmax: Read-only file system/, 'writing a sysctl fails with EROFS');
    t.match(report, /^\/data\/a read-only$/m);
    t.match(report, /^\/data\/sub\/b read-only$/m, 'a submount of a read-only path is read-only too');
    t.match(report, /^\/etc\/c read-only$/m, 'a directory of the rootfs');
    t.match(report, /^\/tmp\/d writable$/m, 'other mounts stay writable');
    const sys = mountLine(mountinfo, '/proc/sys');
    t.same(sys?.options.slice(0, 4), ['ro', 'nosuid', 'nodev', 'noexec'], '/proc/sys keeps nosuid, nodev and noexec of /proc');
    t.equal(mountLine(mountinfo, '/data/sub')?.options[0], 'ro');
    t.notOk(mountinfo.includes('/no/such'), 'a missing path is skipped');
  });

  t.test(`sysctl: namespaced keys are set inside and not on the host${mode}`, async (t) => {
    const sb = new Sandbox(t);
    const host = readFileSync('/proc/sys/kernel/shmmax', 'utf8');
    const out = inside(sb, 'paths-sysctl', [
      'cat /proc/sys/kernel/shmmax /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv4/conf/lo/forwarding',
      'cat /proc/sys/fs/mqueue/msg_max /proc/sys/kernel/domainname',
    ].join('; '), (c) => {
      userns(c);
      c.linux.sysctl = {
        'kernel.shmmax': '123456789',
        'net.ipv4.ip_forward': '1',
        'net.ipv4.conf.lo.forwarding': '0',
        'fs.mqueue.msg_max': '20',
        'kernel.domainname': 'example.test',
      };
    });
    t.same(out.trim().split('\n'), ['123456789', '1', '0', '20', 'example.test'], 'read back inside');
    t.equal(readFileSync('/proc/sys/kernel/shmmax', 'utf8'), host, 'the host\'s value is unchanged');
  });
}

t.test('sysctl: keys outside the container\'s namespaces are refused at create', async (t) => {
  const sb = new Sandbox(t);
  // Each value is the host's own, so that nothing would change even if one got through.
  const swappiness = readFileSync('/proc/sys/vm/swappiness', 'utf8').trim();
  const forward = readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim();
  const corePattern = readFileSync('/proc/sys/kernel/core_pattern', 'utf8').trim();
  const cases: [string, (c: any) => void, RegExp][] = [
    ['swappiness', (c) => {
      c.linux.sysctl = { 'vm.swappiness': swappiness };
    }, /^config\.json: linux\.sysctl\["vm\.swappiness"\]: is not a namespaced sysctl: setting it would change the host\n$/],
    ['hostnet', (c) => {
      c.linux.namespaces = c.linux.namespaces.filter((n: { type: string }) => n.type !== 'network');
      c.linux.namespaces.push({ type: 'network', path: '/proc/self/ns/net' });
      c.linux.sysctl = { 'net.ipv4.ip_forward': forward };
    }, /^config\.json: linux\.sysctl\["net\.ipv4\.ip_forward"\]: needs a network namespace of the container, not the host's/],
    ['traversal', (c) => {
      c.linux.sysctl = { 'net.//.kernel.core_pattern': corePattern };
    }, /^config\.json: linux\.sysctl\["net\.\/\/\.kernel\.core_pattern"\]: is not a sysctl name\n$/],
    ['hostname', (c) => {
      c.linux.sysctl = { 'kernel.hostname': 'other' };
    }, /^config\.json: linux\.sysctl\["kernel\.hostname"\]: conflicts with the hostname field/],
  ];
  for (const [id, edit, line] of cases) {
    const r = create(sb, `paths-${id}`, edit);
    t.equal(r.status, 1, `${id}: create fails`);
    t.match(r.stderr, line, `${id}: one error line`);
    t.notOk(r.left, `${id}: no state directory`);
  }
  t.equal(readFileSync('/proc/sys/kernel/core_pattern', 'utf8').trim(), corePattern);
});

t.test('mountLabel without selinux is refused at create', { skip: existsSync('/sys/fs/selinux/enforce') && 'selinux is enabled' }, async (t) => {
  const sb = new Sandbox(t);
  const r = create(sb, 'paths-label', (c) => {
    c.linux.mountLabel = 'system_u:object_r:container_file_t:s0:c1,c2';
  });
  t.equal(r.status, 1);
  t.equal(r.stderr, 'config.json: linux.mountLabel: selinux is not enabled on this host: a mount label cannot be applied\n');
  t.notOk(r.left, 'no state directory');
});
