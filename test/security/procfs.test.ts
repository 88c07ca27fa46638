import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Sandbox, baseConfig, sharedRootfs } from '../helpers/containers.js';

/**
 * CVE-2025-52881: the setup's writes to /proc (sysctls, LSM labels) redirected by a mount
 * over the file they name (docs/security.md). A racing container with a shared volume puts
 * that mount there; here a createContainer hook does, which runs in the container's mount
 * namespace after its /proc is mounted and before the sysctls are written.
 */

const rootfs = sharedRootfs(t);
const RUNC = '/usr/sbin/runc';

/** A config whose net.ipv4.ip_forward file is covered by a bind of `decoy` when sysctls are written. */
function coveredSysctl(decoy: string, args: string[]): any {
  const config = baseConfig(rootfs, args);
  config.linux.sysctl = { 'net.ipv4.ip_forward': '1' };
  config.hooks = {
    createContainer: [{
      path: '/bin/sh',
      // run with the rootfs as working directory, before pivot_root
      args: ['sh', '-c', `mount --bind ${decoy} proc/sys/net/ipv4/ip_forward`],
    }],
  };
  return config;
}

t.test('CVE-2025-52881: a sysctl is written to the kernel, not to a file mounted over /proc/sys', async (t) => {
  const sb = new Sandbox(t);
  const decoy = join(sb.dir, 'ip_forward');
  writeFileSync(decoy, '0\n');

  if (existsSync(RUNC)) {
    // the decoy: a runtime that writes the sysctl by its path writes the mounted file
    const root = join(sb.dir, 'runc-root');
    mkdirSync(root);
    t.teardown(() => {
      spawnSync(RUNC, ['--root', root, 'delete', '--force', 'naive']);
      rmSync(root, { recursive: true, force: true });
    });
    const bundle = sb.bundle(coveredSysctl(decoy, ['true']));
    const r = spawnSync(RUNC, ['--root', root, 'run', '--bundle', bundle, 'naive'], { encoding: 'utf8', timeout: 60_000 });
    t.equal(r.status, 0, `runc runs it: ${r.stderr}`);
    t.equal(readFileSync(decoy, 'utf8'), '1', 'runc wrote the sysctl into the file mounted over it');
    writeFileSync(decoy, '0\n');
  } else {
    t.comment(`no ${RUNC}: the decoy is not shown`);
  }

  const config = coveredSysctl(decoy, ['sh', '-c', 'cat /proc/sys/net/ipv4/conf/all/forwarding /proc/sys/net/ipv4/ip_forward']);
  const r = sb.runts(['run', '--bundle', sb.bundle(config), 'covered']);
  t.equal(r.status, 0, r.stderr);
  t.equal(r.stdout, '1\n0\n', 'the container\'s network namespace forwards; its ip_forward file is the mounted one');
  t.equal(readFileSync(decoy, 'utf8'), '0\n', 'the mounted file was not written');
});

t.test('a /proc that is not procfs fails a config with sysctls, and nothing is left', async (t) => {
  const sb = new Sandbox(t);
  const config = baseConfig(rootfs, ['true']);
  config.linux.sysctl = { 'net.ipv4.ip_forward': '1' };
  config.mounts = config.mounts.map((m: { destination: string }) => (m.destination === '/proc' ? { destination: '/proc', type: 'tmpfs', source: 'tmpfs' } : m));
  const r = sb.runts(['run', '--bundle', sb.bundle(config), 'notproc']);
  t.equal(r.status, 1);
  t.match(r.stderr, /linux\.sysctl: open procfs for linux\.sysctl: \/proc is not procfs/);
  t.equal(sb.runts(['list', '-q']).stdout.trim(), '', 'no container left');
});
