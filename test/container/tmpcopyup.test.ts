import t from 'tap';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, lchownSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RUNTS, Sandbox, baseConfig, sharedRootfs } from '../helpers/containers.js';

/** tmpcopyup: a tmpfs that starts with what the image had at its destination. */

const rootfs = sharedRootfs(t);
const data = join(rootfs, 'data');
mkdirSync(join(data, 'sub'), { recursive: true });
writeFileSync(join(data, 'file'), 'from the image\n');
chownSync(join(data, 'file'), 1234, 5678);
chmodSync(join(data, 'file'), 0o640);
writeFileSync(join(data, 'sub', 'inner'), 'deeper\n');
chownSync(join(data, 'sub'), 42, 43);
chmodSync(join(data, 'sub'), 0o2750);
symlinkSync('/etc/shadow', join(data, 'link'));
lchownSync(join(data, 'link'), 7, 8);
chownSync(data, 99, 98);
chmodSync(data, 0o711);
// a destination that is an absolute symlink: it means the rootfs's /etc, never the host's
writeFileSync(join(rootfs, 'etc', 'only-in-image'), '');
symlinkSync('/etc', join(rootfs, 'etc-link'));

function config(script: string, edit: (c: any) => void = () => {}): any {
  const c = baseConfig(rootfs, ['sh', '-c', script]);
  c.process.capabilities.effective.push('CAP_DAC_OVERRIDE');
  c.process.capabilities.bounding.push('CAP_DAC_OVERRIDE');
  c.process.capabilities.permitted.push('CAP_DAC_OVERRIDE');
  edit(c);
  return c;
}

t.test('files, directories, symlinks, modes and owners of the image, in a tmpfs', async (t) => {
  const sb = new Sandbox(t);
  const script = [
    'cd /data && stat -c "%n %a %u:%g" . file sub sub/inner link',
    'readlink link; cat file sub/inner',
    'grep " /data " /proc/self/mountinfo | cut -d" " -f6-',
    'touch /data/new && echo writable',
  ].join('; ');
  const r = sb.runts(['run', '--bundle', sb.bundle(config(script, (c) => {
    c.mounts.push({ destination: '/data', type: 'tmpfs', source: 'tmpfs', options: ['rw', 'rprivate', 'nosuid', 'nodev', 'tmpcopyup'] });
  })), 'copyup']);
  t.equal(r.status, 0, r.stderr);
  t.same(r.stdout.trim().split('\n'), [
    '. 711 99:98',
    'file 640 1234:5678',
    'sub 2750 42:43',
    'sub/inner 644 0:0',
    'link 777 7:8',
    '/etc/shadow',
    'from the image',
    'deeper',
    'rw,nosuid,nodev,relatime - tmpfs tmpfs rw',
    'writable',
  ]);
});

t.test('through a symlink in the image the copy stays in the rootfs; ro holds after the copy', async (t) => {
  const sb = new Sandbox(t);
  const r = sb.runts(['run', '--bundle', sb.bundle(config('ls /etc-link; touch /etc-link/x 2>/dev/null || echo read-only', (c) => {
    c.mounts.push({ destination: '/etc-link', type: 'tmpfs', source: 'tmpfs', options: ['ro', 'tmpcopyup'] });
  })), 'copyup-link']);
  t.equal(r.status, 0, r.stderr);
  t.same(r.stdout.trim().split('\n'), ['group', 'only-in-image', 'passwd', 'read-only'], 'the rootfs\'s /etc and nothing of the host\'s');
});

t.test('an option neither runts nor the filesystem knows: a clear error from check and create', async (t) => {
  const sb = new Sandbox(t);
  const bundle = sb.bundle(config('true', (c) => {
    c.mounts.push({ destination: '/data', type: 'tmpfs', source: 'tmpfs', options: ['tmpcopyup', 'copyup'] });
    c.mounts.push({ destination: '/mnt', type: 'bind', source: '/tmp', options: ['rbind', 'nocopy'] });
  }));
  const n = baseConfig(rootfs, ['true']).mounts.length;
  const r = sb.runts(['create', '--bundle', bundle, 'copyup-bad']);
  t.equal(r.status, 1);
  t.equal(r.stderr, `config.json: mounts[${n}].options: mount option "copyup" is refused by tmpfs: unknown parameter 'copyup'\n`);
  const check = spawnSync(RUNTS, ['check', '--bundle', bundle], { encoding: 'utf8' });
  t.equal(check.status, 1);
  t.ok(check.stdout.includes(`problem: mounts[${n}].options: mount option "copyup" is refused by tmpfs: unknown parameter 'copyup'\n`), check.stdout);
  t.ok(check.stdout.includes(`problem: mounts[${n + 1}].options: unknown mount option "nocopy": a bind mount takes no filesystem options\n`), check.stdout);
});
