import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { controllerRoot } from '../lib/cgroups.js';
import { failure, type Case } from '../lib/context.js';
import { req } from '../lib/spec.js';

const onlyCreated = req(
  'runtime.md',
  'Delete',
  'Note that resources associated with the container, but not created by this container, MUST NOT be deleted.',
);
const created = req('config-linux.md', 'Cgroups Path', "The cgroups will be created if they don't exist.");

export const cases: Case[] = [
  {
    name: 'delete_only_create_resources',
    description: 'delete leaves a cgroup the caller made and moved the container process into',
    async run(t) {
      const root = controllerRoot(t.host, 'pids');
      if (!root) return t.skip('no pids cgroup hierarchy is mounted');
      const b = await t.bundle((c, b) => b.shell('true'));
      const callerCgroup = join(root, t.suite.cgroupParent, `${b.id}-caller`);
      t.mkCgroup(callerCgroup);
      const pid = await t.created(b);
      writeFileSync(join(callerCgroup, 'cgroup.procs'), String(pid));
      await t.started(b.id);
      await t.stopped(b.id);
      await t.deleted(b.id);
      t.ok(existsSync(callerCgroup), 'the cgroup the caller made is still there after delete', onlyCreated, {
        cgroup: callerCgroup,
      });
    },
  },
  {
    name: 'delete_only_create_resources/existing_cgroups_path',
    description: 'delete leaves the cgroup that cgroupsPath named when it existed before create',
    async run(t) {
      const root = controllerRoot(t.host, 'pids');
      if (!root) return t.skip('no pids cgroup hierarchy is mounted');
      const b = await t.bundle((c, b) => b.shell('true'));
      const existing = join(root, b.linux.cgroupsPath ?? '');
      t.mkCgroup(existing);
      const c = await t.create(b);
      t.require(c.ok, 'create with an existing, empty cgroup as cgroupsPath succeeds', created, failure(c));
      await t.started(b.id);
      await t.stopped(b.id);
      await t.deleted(b.id);
      t.ok(existsSync(existing), 'the cgroup that existed before create is still there after delete', onlyCreated, {
        cgroup: existing,
      });
    },
  },
];
