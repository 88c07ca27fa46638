import { readlinkSync } from 'node:fs';
import { checkState } from '../lib/checks.js';
import { failure, type Case } from '../lib/context.js';
import { nsInode } from '../lib/host.js';
import { req } from '../lib/spec.js';

const noId = req(
  'runtime.md',
  'Query State',
  'This operation MUST generate an error if it is not provided the ID of a container.',
);
const missing = req(
  'runtime.md',
  'Query State',
  'Attempting to query a container that does not exist MUST generate an error.',
);
const pidIsProcess = req(
  'runtime.md',
  'State',
  '`pid` (int, REQUIRED when `status` is `created` or `running` on Linux, OPTIONAL on other platforms) is the ID of the container process.',
);

export const cases: Case[] = [
  {
    name: 'state',
    description: 'state reports id, status, pid, bundle and annotations through created, running and stopped',
    async run(t) {
      const r0 = await t.state('');
      t.ok(!r0.ok, 'state without a container id fails', noId, failure(r0));
      const r1 = await t.state(`${t.suite.runId}-missing`);
      t.ok(!r1.ok, 'state of a container that does not exist fails', missing, failure(r1));

      const annotations = { 'org.example.conformance': 'state test', 'org.example.empty': '' };
      const b = await t.bundle((c, b) => {
        c.annotations = annotations;
        b.shell('exec sleep 60');
      });
      const pid = await t.created(b);
      const created = await t.state(b.id);
      checkState(t, 'state after create', created.state, { id: b.id, bundle: b.dir, status: ['created'], annotations });
      t.ok(
        nsInode(pid, 'pid') !== nsInode('self', 'pid') &&
          readlinkSync(`/proc/${pid}/ns/mnt`) !== nsInode('self', 'mnt'),
        "the reported pid is a process in the container's new namespaces",
        pidIsProcess,
      );

      await t.started(b.id);
      const running = await t.waitFor(b.id, ['running']);
      checkState(t, 'state while running', running.state, {
        id: b.id,
        bundle: b.dir,
        status: ['running'],
        pid,
        annotations,
      });

      await t.kill(b.id, 'KILL');
      const stopped = await t.waitFor(b.id, ['stopped']);
      checkState(t, 'state once stopped', stopped.state, { id: b.id, bundle: b.dir, status: ['stopped'], annotations });
      await t.deleted(b.id);
    },
  },
];
