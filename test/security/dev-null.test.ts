import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, Sandbox, baseConfig, sharedRootfs, until } from '../helpers/containers.js';

/** CVE-2025-31133 and the host's device nodes: /dev/null as masked paths and stdio use it (docs/security.md). */

const rootfs = sharedRootfs(t);

t.test('CVE-2025-31133: a /dev/null swapped for a symlink during create is never bound', async (t) => {
  const sb = new Sandbox(t);
  // A /dev that another party can change while runts works: a bind of a host directory,
  // as a second container sharing the volume could change it.
  const dev = join(sb.dir, 'dev');
  mkdirSync(dev);
  t.equal(spawnSync('mknod', [join(dev, '.device'), 'c', '1', '3']).status, 0);
  chmodSync(join(dev, '.device'), 0o666);
  writeFileSync(join(dev, 'leak'), 'LEAKED\n');
  symlinkSync('leak', join(dev, '.link'));
  writeFileSync(join(rootfs, 'secret'), 'SECRET\n');

  // Flips dev/null between the null device and a symlink to dev/leak, as fast as it can.
  // It stops by itself when the test's process is gone, even if the test was killed.
  const racer = spawn(process.execPath, ['-e', `
    const fs = require('fs'), d = ${JSON.stringify(dev)}, parent = ${process.pid};
    for (let i = 0; ; i++) {
      fs.linkSync(d + '/.device', d + '/.a'); fs.renameSync(d + '/.a', d + '/null');
      fs.linkSync(d + '/.link', d + '/.b'); fs.renameSync(d + '/.b', d + '/null');
      if (i % 1000 === 0) { try { process.kill(parent, 0); } catch { process.exit(0); } }
    }`], { stdio: 'ignore' });
  t.teardown(() => {
    racer.kill('SIGKILL');
  });
  t.ok(await until(() => existsSync(join(dev, 'null'))));

  // the decoy: a bind mount that resolves the path when it mounts is won by the racer
  const target = join(sb.dir, 'target');
  writeFileSync(target, '');
  const naive = spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c',
    `for i in $(seq 200); do mount --bind ${dev}/null ${target} 2>/dev/null && { cat ${target}; umount ${target}; }; done`], {
    encoding: 'utf8', timeout: 60_000,
  });
  t.match(naive.stdout, /LEAKED/, 'binding /dev/null by path mounts the racer\'s file');

  let masked = 0;
  let refused = 0;
  let leaked = 0;
  for (let i = 0; i < 200; i++) {
    const config = baseConfig(rootfs, ['cat', '/secret']);
    config.mounts = config.mounts.filter((m: any) => !m.destination.startsWith('/dev'));
    config.mounts.push({ destination: '/dev', type: 'bind', source: dev, options: ['rbind', 'rw'] });
    config.linux.maskedPaths = ['/secret'];
    const r = sb.runts(['run', '--bundle', sb.bundle(config), `race${i}`]);
    if (r.stdout !== '') leaked++;
    else if (r.status === 0) masked++;
    else {
      refused++;
      if (!/\/dev\/null/.test(r.stderr)) t.fail(`an unexplained failure: ${r.stderr}`);
    }
    if (existsSync(join(sb.root, `race${i}`))) t.fail(`race${i} left its state`);
  }
  racer.kill('SIGKILL');
  t.equal(leaked, 0, `200 creates under the race: ${masked} masked, ${refused} refused, ${leaked} read anything`);
  t.ok(masked > 0, 'the defence still masks when /dev/null is the device');
});

t.test('the host\'s /dev/null keeps its owner and mode after user-namespace, non-root and tty containers', async (t) => {
  const sb = new Sandbox(t);
  const before = statSync('/dev/null');
  const userns = baseConfig(rootfs, ['sh', '-c', 'cat /dev/null; echo x > /dev/null']);
  userns.linux.namespaces.push({ type: 'user' });
  userns.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  userns.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  const nonRoot = baseConfig(rootfs, ['sh', '-c', 'echo x > /dev/null; cat /dev/stdin']);
  nonRoot.process.user = { uid: 1000, gid: 1000 };
  const both = baseConfig(rootfs, ['sh', '-c', 'echo x > /dev/null']);
  both.process.user = { uid: 1000, gid: 1000 };
  both.linux.namespaces.push({ type: 'user' });
  both.linux.uidMappings = userns.linux.uidMappings;
  both.linux.gidMappings = userns.linux.gidMappings;
  for (const [name, config] of [['userns', userns], ['nonroot', nonRoot], ['both', both]] as const) {
    // stdin is the host's /dev/null, as for a detached engine container
    const r = spawnSync(join(REPO_ROOT, 'bin', 'runts'), ['--root', sb.root, 'run', '--bundle', sb.bundle(config), name], {
      stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', timeout: 30_000,
    });
    t.equal(r.status, 0, `${name}: ${r.stderr}`);
    const after = statSync('/dev/null');
    t.same([after.uid, after.gid, after.mode & 0o7777], [before.uid, before.gid, 0o666], `${name}: /dev/null is root:root 666`);
  }
  const tty = baseConfig(rootfs, ['sh', '-c', 'echo x > /dev/null; tty']);
  tty.process.terminal = true;
  tty.process.user = { uid: 1000, gid: 1000 };
  const r = spawnSync(join(REPO_ROOT, 'bin', 'runts'), ['--root', sb.root, 'run', '--bundle', sb.bundle(tty), 'tty'], {
    stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', timeout: 30_000,
  });
  t.equal(r.status, 0, r.stderr);
  const after = statSync('/dev/null');
  t.same([after.uid, after.gid, after.mode & 0o7777], [before.uid, before.gid, 0o666], 'tty: /dev/null is root:root 666');
});
