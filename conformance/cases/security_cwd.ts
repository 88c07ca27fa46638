import { readlinkSync } from 'node:fs';
import { failure, type Case } from '../lib/context.js';
import { cwdUnderRoot, describeFds, execed, fdsOf, hostFds } from '../lib/security.js';
import { req } from '../lib/spec.js';

const root = req('config.md', 'Root', "`root` (object, OPTIONAL) specifies the container's root filesystem.");
const cwd = req(
  'config.md',
  'Process',
  '`cwd` (string, REQUIRED) is the working directory that will be set for the executable.',
);

function lastLine(text: string): string {
  return text.trim().split('\n').pop() ?? '';
}

export const cases: Case[] = [
  {
    name: 'security_cwd',
    description:
      'CVE-2024-21626: a process.cwd of /proc/self/fd/N, for every fd a created init holds, fails or stays in the root',
    async run(t) {
      const b = await t.bundle((c, b) => {
        b.process.args = ['sleep', '1000'];
      });
      const init = await t.created(b);
      const held = fdsOf(init);
      // The decoy: files and directories of the host the created init holds.
      const host = hostFds(init);
      t.note(
        host.size > 0
          ? `decoy: the created init holds host files: ${describeFds(host)}`
          : `decoy absent: the created init holds no host file (its fds: ${describeFds(held)})`,
      );
      await t.delete(b.id, true);

      const highest = Math.max(2, ...held.keys()) + 4;
      t.note(`process.cwd /proc/self/fd/N tried for N from 3 to ${highest}`);
      // Each refusal's message, with the fd numbers that got it.
      const refused = new Map<string, number[]>();
      const refuse = (n: number, stderr: string) => {
        // runc prefixes its messages with a timestamp; drop it so equal refusals group.
        const message = lastLine(stderr)
          .replace(/^time="[^"]*" */, '')
          .replaceAll(`/proc/self/fd/${n}`, '/proc/self/fd/N');
        refused.set(message, [...(refused.get(message) ?? []), n]);
      };
      for (let n = 3; n <= highest; n++) {
        const dir = `/proc/self/fd/${n}`;
        b.process.cwd = dir;
        const id = t.newId();
        const created = await t.create(b, { id });
        if (!created.ok) {
          refuse(n, created.stderr);
          t.ok(true, `process.cwd ${dir}: create fails`, cwd);
          continue;
        }
        const pid = (await t.state(id)).state?.pid ?? 0;
        const started = await t.start(id);
        if (!started.ok) {
          refuse(n, `start: ${started.stderr}`);
          t.ok(true, `process.cwd ${dir}: create succeeds, start fails`, cwd, failure(started));
        } else {
          await execed(pid, 'sleep');
          const where = readlinkSync(`/proc/${pid}/cwd`);
          const inside = cwdUnderRoot(pid);
          if (!inside) t.note(`process.cwd ${dir}: the process runs in ${where}, outside the container's root`);
          t.ok(inside, `process.cwd ${dir}: the process's working directory is inside the container's root`, root, {
            cwd: where,
          });
        }
        await t.delete(id, true);
      }
      for (const [message, fds] of refused) t.note(`refused for N = ${fds.join(' ')}: ${message}`);
    },
  },
];
