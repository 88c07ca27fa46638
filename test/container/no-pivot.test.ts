import t from 'tap';
import { Sandbox, baseConfig, sharedRootfs } from '../helpers/containers.js';

/**
 * --no-pivot moves the rootfs onto / and chroots: the host's own mounts stay in the
 * container's mount namespace, under it. The kernel lets a user namespace mount a fresh
 * proc or sysfs only where one is already fully visible, and the host's must not count.
 */

const rootfs = sharedRootfs(t);
const SCRIPT = 'mkdir -p /tmp/p; for fs in proc sysfs; do mount -t $fs none /tmp/p 2>/dev/null && echo "$fs mounted" && umount /tmp/p || echo "$fs refused"; done';

function userNamespaceConfig(): any {
  const config = baseConfig(rootfs, ['sh', '-c', SCRIPT]);
  for (const set of ['bounding', 'effective', 'permitted']) config.process.capabilities[set].push('CAP_SYS_ADMIN');
  config.linux.namespaces.push({ type: 'user' });
  config.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  config.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  // nothing of the container's own would let a fresh one in
  config.mounts = config.mounts.filter((m: any) => m.type !== 'proc' && m.type !== 'sysfs');
  config.linux.maskedPaths = [];
  config.linux.readonlyPaths = [];
  config.root.readonly = false;
  return config;
}

for (const flags of [[], ['--no-pivot']]) {
  t.test(`a user namespace cannot mount a fresh proc or sysfs through the host's ${flags.join(' ')}`, async (t) => {
    const sb = new Sandbox(t);
    const r = sb.runts(['run', ...flags, '--bundle', sb.bundle(userNamespaceConfig()), 'fresh']);
    t.equal(r.status, 0, r.stderr);
    t.equal(r.stdout, 'proc refused\nsysfs refused\n');
  });
}

t.test('--no-pivot in a user namespace: the container\'s own proc and sysfs are whole', async (t) => {
  const sb = new Sandbox(t);
  const config = baseConfig(rootfs, ['sh', '-c', 'cat /proc/sys/kernel/hostname; test -d /sys/kernel/mm && echo sysfs']);
  config.linux.namespaces.push({ type: 'user' });
  config.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  config.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  const r = sb.runts(['run', '--no-pivot', '--bundle', sb.bundle(config), 'whole']);
  t.equal(r.status, 0, r.stderr);
  t.equal(r.stdout, 'busybox\nsysfs\n', 'the covers are the host\'s, not on the container\'s mounts');
});
