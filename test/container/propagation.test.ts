import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Sandbox, baseConfig, sharedRootfs, until } from '../helpers/containers.js';

/**
 * Mount propagation between a volume of the host and the container, as Kubernetes asks
 * for it through containerd: Bidirectional is an rshared volume in an rshared rootfs,
 * HostToContainer an rslave one.
 */

const rootfs = sharedRootfs(t);

function sh(cmd: string[]): void {
  const r = spawnSync(cmd[0], cmd.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd.join(' ')}: ${r.stderr}`);
}

/** A tmpfs of the host, made shared; unmounted with all that propagated to it at teardown. */
function sharedVolume(t: { teardown(fn: () => void): void }): string {
  const vol = mkdtempSync(join(tmpdir(), 'runts-vol-'));
  t.teardown(() => {
    spawnSync('umount', ['-R', '-l', vol]);
    rmSync(vol, { recursive: true, force: true });
  });
  sh(['mount', '-t', 'tmpfs', 'runts-vol', vol]);
  sh(['mount', '--make-shared', vol]);
  return vol;
}

function hostMountpoints(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4]).filter(Boolean);
}

function volumeConfig(vol: string, script: string, rootfsPropagation: string, volumePropagation: string): any {
  const config = baseConfig(rootfs, ['sh', '-c', script]);
  for (const set of ['bounding', 'effective', 'permitted']) config.process.capabilities[set].push('CAP_SYS_ADMIN');
  config.mounts.push({ destination: '/vol', type: 'bind', source: vol, options: ['rbind', volumePropagation] });
  config.linux.rootfsPropagation = rootfsPropagation;
  return config;
}

for (const rootfsPropagation of ['rshared', 'shared']) {
  t.test(`rootfsPropagation ${rootfsPropagation}: a mount made inside an rshared volume reaches the host`, async (t) => {
    const sb = new Sandbox(t);
    const vol = sharedVolume(t);
    const script = 'mkdir /vol/sub && mount -t tmpfs inner /vol/sub && echo made inside > /vol/sub/file';
    const r = sb.runts(['run', '--bundle', sb.bundle(volumeConfig(vol, script, rootfsPropagation, 'rshared')), 'bidi']);
    t.equal(r.status, 0, r.stderr);
    t.ok(hostMountpoints().includes(join(vol, 'sub')), 'the mount is on the host');
    t.equal(existsSync(join(vol, 'sub', 'file')) && readFileSync(join(vol, 'sub', 'file'), 'utf8'), 'made inside\n', 'with what the container wrote in it');
    t.same(hostMountpoints().filter((m) => m.startsWith(rootfs)), [], 'none of the container\'s other mounts');
  });
}

t.test('rootfsPropagation rslave: host mounts reach the container, none go back', async (t) => {
  const sb = new Sandbox(t);
  const vol = sharedVolume(t);
  const script = 'cat /vol/host/marker > /vol/seen; mkdir /vol/inner && mount -t tmpfs inner /vol/inner && touch /vol/inner/made; touch /vol/done';
  const created = sb.runts(['create', '--bundle', sb.bundle(volumeConfig(vol, script, 'rslave', 'rslave')), 'h2c']);
  t.equal(created.status, 0, created.stderr);
  // made after the container's mount namespace exists
  mkdirSync(join(vol, 'host'));
  sh(['mount', '-t', 'tmpfs', 'host', join(vol, 'host')]);
  writeFileSync(join(vol, 'host', 'marker'), 'from the host\n');
  t.equal(sb.runts(['start', 'h2c']).status, 0);
  t.ok(await until(() => existsSync(join(vol, 'done')), 15_000), 'the process ran');
  t.equal(readFileSync(join(vol, 'seen'), 'utf8'), 'from the host\n', 'the host\'s mount is inside');
  t.notOk(hostMountpoints().includes(join(vol, 'inner')), 'the container\'s mount is not on the host');
  t.notOk(existsSync(join(vol, 'inner', 'made')), 'nor what it holds');
});

t.test('rootfsPropagation rshared with an rslave volume beside an rshared one (a pod with Bidirectional and HostToContainer volumes): the rslave volume stays a slave', async (t) => {
  const sb = new Sandbox(t);
  const bidi = sharedVolume(t);
  const h2c = sharedVolume(t);
  const script = [
    "awk '$5 == \"/h2c\" { for (i = 7; $i != \"-\"; i++) printf \"%s \", $i; print \"\" }' /proc/self/mountinfo",
    'mkdir /h2c/inner && mount -t tmpfs inner /h2c/inner && touch /h2c/inner/made',
  ].join('; ');
  const config = volumeConfig(bidi, script, 'rshared', 'rshared');
  config.mounts.push({ destination: '/h2c', type: 'bind', source: h2c, options: ['rbind', 'rslave'] });
  const r = sb.runts(['run', '--bundle', sb.bundle(config), 'pod']);
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /^master:\d+ $/m, 'the volume is a slave and nothing else (no peer group of its own)');
  t.notOk(hostMountpoints().includes(join(h2c, 'inner')), 'a mount made inside it does not reach the host');
});
