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
