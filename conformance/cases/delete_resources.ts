import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { memberships } from '../lib/cgroups.js';
import type { Case } from '../lib/context.js';
import { procStat, readMountInfo } from '../lib/host.js';
import { common } from '../lib/spec.js';

export const cases: Case[] = [
  {
    name: 'delete_resources',
    description: 'delete removes the cgroups, processes and mounts that create made',
    async run(t) {
      const b = await t.bundle((c, b) => b.shell('true'));
      const pid = await t.created(b);
      const startTime = procStat(pid)?.startTime;
      const cgroupPath = b.linux.cgroupsPath ?? '';
      const dirs = memberships(t.host, pid)
        .filter((m) => m.path === cgroupPath)
        .map((m) => join(m.hierarchy.mountPoint, m.path));
      t.require(dirs.length > 0, `create put the container in cgroup ${cgroupPath}`, common.createApplies, {
        cgroups: readFileSync(`/proc/${pid}/cgroup`, 'utf8'),
      });
      await t.started(b.id);
      await t.stopped(b.id);
      await t.deleted(b.id);

      const left = dirs.filter((d) => existsSync(d));
      t.equal(left, [], 'the cgroups made for the container are removed', common.deleteStopped);
      // A zombie has exited; reaping it is its parent's business, not the runtime's.
      const after = procStat(pid);
      const running = after !== undefined && after.startTime === startTime && !['Z', 'X'].includes(after.state);
      t.ok(!running, 'the container process is gone', common.deleteStopped, { stat: after });
      const mounts = readMountInfo().filter((m) => m.mountPoint.startsWith(b.dir));
      t.equal(
        mounts.map((m) => m.mountPoint),
        [],
        "no mount of the container is left in the runtime's mount namespace",
        common.deleteStopped,
      );
    },
  },
];
