import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { controllerRoot } from '../lib/cgroups.js';
import { failure, type Case } from '../lib/context.js';
import { securityReq } from '../lib/spec.js';

const below = securityReq(
  'exec --cgroup',
  'A path with a `..` component is refused before anything is resolved, and the joined path must lie below the container\'s cgroup (`src/linux/cgroups/exec-sub.ts`), so no `--cgroup` can put a process in another container\'s cgroup or the host\'s.',
);

function procs(dir: string): string[] {
  return readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean);
}

export const cases: Case[] = [
  {
    name: 'security_exec_cgroup',
    description: 'runc\'s exec --cgroup joins a sub-cgroup of the container\'s, and refuses a path that climbs out of it',
    async run(t) {
      const root = controllerRoot(t.host, 'pids');
      if (!root) return t.skip('no pids cgroup hierarchy is mounted');
      const b = await t.bundle((c, b) => b.shell('sleep 1000'));
      await t.created(b);
      await t.started(b.id);
      const own = join(root, b.linux.cgroupsPath ?? '');
      const sub = join(own, 'sub');
      t.mkCgroup(sub);
      // the decoy: a cgroup beside the container's, which `../<name>` would reach
      const decoy = join(dirname(own), `${b.id}-escape`);
      t.mkCgroup(decoy);
      const process = join(t.dir, 'process.json');
      writeFileSync(process, JSON.stringify({ args: ['sleep', '1000'], cwd: '/', user: { uid: 0, gid: 0 }, env: ['PATH=/bin:/usr/bin'] }));
      const prefix = t.host.cgroupLayout === 'v2' ? '' : 'pids:';

      const ok = await t.exec(b.id, process, ['--cgroup', `${prefix}sub`]);
      t.ok(ok.ok && procs(sub).length === 1, 'exec --cgroup sub puts the process in the sub-cgroup', below, { ...failure(ok), procs: procs(sub) });
      const out = await t.exec(b.id, process, ['--cgroup', `${prefix}../${b.id}-escape`]);
      t.ok(!out.ok, 'exec --cgroup ../<beside> fails', below, failure(out));
      t.equal(procs(decoy).length, 0, 'and no process is in the cgroup beside the container\'s', below, { procs: procs(decoy) });
    },
  },
];
