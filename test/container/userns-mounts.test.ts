import t from 'tap';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Sandbox, baseConfig, sharedRootfs } from '../helpers/containers.js';

/** A container in a user namespace binds what only the host's root can reach. */

const rootfs = sharedRootfs(t);

t.test('a bind source below a 0700 directory of the host\'s root, in a user namespace: create and exec', async (t) => {
  const locked = mkdtempSync(join(tmpdir(), 'runts-locked-'));
  t.teardown(() => rmSync(locked, { recursive: true, force: true }));
  chmodSync(locked, 0o700);
  mkdirSync(join(locked, 'vol'));
  writeFileSync(join(locked, 'vol', 'file'), 'behind a locked door\n');
  // The container's root (host uid 100000) may not create directories in the host's rootfs.
  mkdirSync(join(rootfs, 'data'), { recursive: true });

  const config = baseConfig(rootfs, ['sleep', '1000']);
  config.linux.namespaces.push({ type: 'user' });
  config.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  config.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  config.mounts.push({ destination: '/data', type: 'bind', source: join(locked, 'vol'), options: ['rbind', 'ro'] });
  const sb = new Sandbox(t);
  const created = sb.runts(['run', '--detach', '--bundle', sb.bundle(config), 'locked']);
  t.equal(created.status, 0, created.stderr);
  const exec = sb.runts(['exec', 'locked', 'sh', '-c', 'cat /data/file; id -u; touch /data/new 2>&1 || echo refused']);
  t.equal(exec.status, 0, exec.stderr);
  const lines = exec.stdout.trim().split('\n');
  t.equal(lines[0], 'behind a locked door', 'exec reads the bound file');
  t.equal(lines[1], '0', 'as root of the user namespace');
  t.equal(lines[lines.length - 1], 'refused', 'the mount keeps its ro');
  const nul = statSync('/dev/null');
  t.same([nul.uid, nul.gid, nul.mode & 0o777], [0, 0, 0o666], 'the host\'s /dev/null is untouched');
});
