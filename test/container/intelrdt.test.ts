import t from 'tap';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { Sandbox, baseConfig, sharedRootfs } from '../helpers/containers.js';

/**
 * linux.intelRdt: where the host has no resctrl mounted, create must fail (config-linux.md
 * "IntelRdt"); runts does not write resctrl groups yet, so where one is mounted it fails
 * too, saying so. `check` reports the same.
 */

const rootfs = sharedRootfs(t);
const hasResctrl = /\bresctrl$/m.test(readFileSync('/proc/filesystems', 'utf8'));
const mounted = /- resctrl /.test(readFileSync('/proc/self/mountinfo', 'utf8'));

const expected = !hasResctrl
  ? 'config.json: linux.intelRdt: this kernel has no resctrl filesystem (Intel RDT, AMD QoS): not in /proc/filesystems'
  : !mounted
    ? 'config.json: linux.intelRdt: no resctrl filesystem is mounted in the runtime\'s mount namespace (mount -t resctrl resctrl /sys/fs/resctrl)'
    : /^config\.json: linux\.intelRdt: runts does not implement Intel RDT \(resctrl is mounted on \S+\)$/;

t.test('create fails with one line saying why, and leaves nothing', async (t) => {
  const sb = new Sandbox(t);
  const c = baseConfig(rootfs, ['true']);
  c.linux.intelRdt = { closID: 'runts-test', l3CacheSchema: 'L3:0=f' };
  const bundle = sb.bundle(c);
  const r = sb.runts(['create', '--bundle', bundle, 'rdt']);
  t.equal(r.status, 1);
  if (typeof expected === 'string') t.equal(r.stderr.trim(), expected);
  else t.match(r.stderr.trim(), expected);
  t.same(existsSync(sb.root) ? readdirSync(sb.root) : [], [], 'no container left');
  if (mounted) t.notOk(existsSync('/sys/fs/resctrl/runts-test'), 'no resctrl group made');
  const check = sb.runts(['check', '--bundle', bundle]);
  t.equal(check.status, 1);
  t.match(check.stdout + check.stderr, /linux\.intelRdt: /, 'check names it');
});
