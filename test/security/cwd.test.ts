import t from 'tap';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Sandbox, baseConfig, sharedRootfs } from '../helpers/containers.js';
import { fdsOf, initPid } from './helpers.js';

/** CVE-2024-21626: a working directory through the runtime's fds (docs/security.md). */

const rootfs = sharedRootfs(t);

t.test('CVE-2024-21626: process.cwd and exec --cwd through /proc/*/fd never reach a host directory', async (t) => {
  const sb = new Sandbox(t);
  t.equal(sb.runts(['create', '--bundle', sb.bundle(baseConfig(rootfs, ['sleep', '1000'])), 'cwd']).status, 0);
  const init = initPid(sb, 'cwd');
  const held = fdsOf(init);
  // the decoy: while `created`, the init holds fds of the host, among them a directory
  const hostDirs = [...held].filter(([, target]) => target.startsWith('/') && existsSync(target) && statSync(target).isDirectory());
  t.ok(hostDirs.length > 0, `the init holds a host directory open (${hostDirs.map(([n, p]) => `${n} -> ${p}`).join(', ')})`);
  const highest = Math.max(...held.keys(), 10) + 4;
  for (let n = 3; n <= highest; n++) {
    const r = sb.runts(['exec', '--cwd', `/proc/1/fd/${n}`, 'cwd', 'pwd']);
    t.equal(r.status, 1, `exec --cwd /proc/1/fd/${n} is refused`);
    t.notMatch(r.stdout, /\//, 'no working directory printed');
    const self = sb.runts(['exec', '--cwd', `/proc/self/fd/${n}`, 'cwd', 'pwd']);
    t.equal(self.status, 1, `exec --cwd /proc/self/fd/${n} is refused`);
  }
  for (let n = 3; n <= highest; n++) {
    const config = baseConfig(rootfs, ['pwd']);
    config.process.cwd = `/proc/self/fd/${n}`;
    const r = sb.runts(['run', '--bundle', sb.bundle(config), `cwd${n}`]);
    t.equal(r.status, 1, `process.cwd /proc/self/fd/${n} is refused`);
    t.match(r.stderr, new RegExp(`process\\.cwd: (create|change to) working directory /proc/self/fd/${n}: `));
    t.notOk(existsSync(join(sb.root, `cwd${n}`)), 'nothing left');
  }
  t.equal(sb.runts(['delete', '--force', 'cwd']).status, 0);
});
