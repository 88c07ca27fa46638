import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { Sandbox, baseConfig, sharedRootfs, until } from '../helpers/containers.js';

const rootfs = sharedRootfs(t);

/** A process holding a new uts namespace of the host's making; killed at teardown. */
async function utsHolder(t: { teardown(fn: () => void): void }): Promise<number> {
  const holder = spawn('unshare', ['--uts', 'sleep', '1000'], { stdio: 'ignore' });
  t.teardown(() => holder.kill('SIGKILL'));
  const pid = holder.pid!;
  const own = readlinkSync('/proc/self/ns/uts');
  const ns = () => {
    try {
      return readlinkSync(`/proc/${pid}/ns/uts`);
    } catch {
      return own;
    }
  };
  await until(() => ns() !== own);
  return pid;
}

t.test('hostname and domainname in a joined uts namespace', async (t) => {
  const sb = new Sandbox(t);
  const pid = await utsHolder(t);
  const config = baseConfig(rootfs, ['sh', '-c', 'hostname; cat /proc/sys/kernel/domainname']);
  config.linux.namespaces = config.linux.namespaces.map((n: any) => (n.type === 'uts' ? { type: 'uts', path: `/proc/${pid}/ns/uts` } : n));
  config.hostname = 'joined-host';
  config.domainname = 'joined.domain';
  const r = sb.runts(['run', '--bundle', sb.bundle(config), 'joined-uts']);
  t.equal(r.status, 0, r.stderr);
  t.same(r.stdout.trim().split('\n'), ['joined-host', 'joined.domain'], 'the container sees them');
  const held = spawnSync('nsenter', ['--uts', '-t', String(pid), 'hostname'], { encoding: 'utf8' });
  t.equal(held.stdout.trim(), 'joined-host', 'set in the joined namespace, which keeps it');
  t.not(spawnSync('hostname', { encoding: 'utf8' }).stdout.trim(), 'joined-host', 'the host keeps its own');
});

/** Mounts a container without a mount namespace leaves on the host, as runc does. */
function unmountRootfs(): void {
  spawnSync('umount', ['-R', '-l', rootfs]);
}

t.test('no mount namespace: the host\'s, with the rootfs as root; exec gets that root too', async (t) => {
  const sb = new Sandbox(t);
  t.teardown(unmountRootfs);
  const config = baseConfig(rootfs, ['sh', '-c', 'readlink /proc/self/ns/mnt; test -x /bin/busybox && echo rootfs; sleep 1000']);
  config.linux.namespaces = config.linux.namespaces.filter((n: any) => n.type !== 'mount');
  config.linux.maskedPaths = [];
  config.linux.readonlyPaths = [];
  const created = sb.runts(['run', '--detach', '--bundle', sb.bundle(config), 'hostmnt']);
  t.equal(created.status, 0, created.stderr);
  const pid = sb.state('hostmnt').pid;
  t.equal(readlinkSync(`/proc/${pid}/ns/mnt`), readlinkSync('/proc/self/ns/mnt'), 'the runtime\'s mount namespace');
  t.equal(readlinkSync(`/proc/${pid}/root`), rootfs, 'the rootfs is its root');
  const exec = sb.runts(['exec', 'hostmnt', 'sh', '-c', 'test -x /bin/busybox && test ! -e /boot && echo inside']);
  t.equal(exec.status, 0, exec.stderr);
  t.equal(exec.stdout, 'inside\n', 'an exec\'d process has the container\'s root');
});

t.test('no mount namespace with masked or read-only paths: refused, as runc does', async (t) => {
  const sb = new Sandbox(t);
  const config = baseConfig(rootfs, ['true']);
  config.linux.namespaces = config.linux.namespaces.filter((n: any) => n.type !== 'mount');
  const r = sb.runts(['create', '--bundle', sb.bundle(config), 'hostmnt-masked']);
  t.equal(r.status, 1);
  t.match(r.stderr, /^config\.json: linux\.maskedPaths: unable to restrict sys entries without a mount namespace of the container/);
});
