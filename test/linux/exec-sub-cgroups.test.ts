import t from 'tap';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execSubCgroupDirs } from '../../src/linux/cgroups/exec-sub.js';
import type { CgroupHost } from '../../src/linux/cgroups/host.js';

/** exec --cgroup on a made-up pure cgroup2 host: a controller prefix means the one hierarchy. */

const root = mkdtempSync(join(tmpdir(), 'runts-exec-sub-'));
t.teardown(() => rmSync(root, { recursive: true, force: true }));
const container = join(root, 'unified', 'ctr');
mkdirSync(join(container, 'a'), { recursive: true });
mkdirSync(join(container, 'b'));
const host: CgroupHost = {
  hierarchies: [{ version: 2, controllers: ['cpu', 'memory', 'pids'], mountPoint: join(root, 'unified'), mountRoot: '/', own: '/' }],
};

t.test('cgroup2: a bare path, or any of its controllers\' paths', async (t) => {
  t.same(execSubCgroupDirs([container], ['a'], host), [join(container, 'a')]);
  t.same(execSubCgroupDirs([container], ['memory:a'], host), [join(container, 'a')]);
  t.same(execSubCgroupDirs([container], ['memory,pids:./a/'], host), [join(container, 'a')], 'normalised');
  t.same(execSubCgroupDirs([container], ['cpu:/a', 'pids:a'], host), [join(container, 'a')], 'the same path twice');
});

t.test('cgroup2: two paths for the one hierarchy, an unknown controller, no cgroups', async (t) => {
  t.throws(() => execSubCgroupDirs([container], ['memory:a', 'pids:b'], host), { message: /given different paths: a and b$/ });
  t.throws(() => execSubCgroupDirs([container], ['rdma:a'], host), { message: '--cgroup: the container has no cgroup with the controller rdma' });
  t.throws(() => execSubCgroupDirs([], ['a'], host), { message: '--cgroup: the container has no cgroups' });
  t.throws(() => execSubCgroupDirs([container], ['a/../../ctr2'], host), { message: /must not contain "\.\."/ });
});
