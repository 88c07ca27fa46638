import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { failure, type Case, type CaseContext } from '../lib/context.js';
import { runCommand, type CommandResult } from '../lib/proc.js';
import { common, req, runcManReq } from '../lib/spec.js';

/**
 * runc's `checkpoint` and `restore` (through CRIU), which the spec does not have: a
 * container that counts is checkpointed, stops counting, and once restored from the
 * images goes on from where it was, as the same program in the running state.
 */

const checkpointReq = runcManReq(
  'runc-checkpoint.8.md',
  'DESCRIPTION',
  'The **checkpoint** command saves the state of the running container instance with the help of **criu**(8) tool, to be restored later.',
);
const restoreReq = runcManReq(
  'runc-restore.8.md',
  'DESCRIPTION',
  'Restores the container instance from a previously performed **runc checkpoint**.',
);
const runningReq = req(
  'runtime.md',
  'State',
  '`running`: the container process has executed the user-specified program but has not exited (MUST NOT be `stopped`).',
);

/** Counts, a line a number, into /out/count (on the host); its stdio none of the runtime's. */
const COUNTER = 'exec </dev/null >/dev/null 2>&1; i=0; while true; do i=$((i+1)); echo $i >> /out/count; sleep 0.1; done';

/** `criu check`'s verdict: undefined when it passes, else why not. */
function criuCheck(): string | undefined {
  const r = spawnSync('criu', ['check'], { encoding: 'utf8', env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' } });
  if (r.error) return 'criu is not installed';
  if (r.status === 0) return undefined;
  const error = `${r.stdout}\n${r.stderr}`.split('\n').find((l) => /Error \(/.test(l));
  return error?.replace(/^.*?Error \([^)]*\):\s*/, '').trim() ?? `exit status ${r.status}`;
}

function runtimeCommand(t: CaseContext, args: string[]): Promise<CommandResult> {
  return runCommand(t.runtime.path, ['--root', t.runtime.root, ...args], { timeoutMs: 60_000, scratch: t.dir });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const cases: Case[] = [
  {
    name: 'checkpoint',
    description: 'runc\'s checkpoint and restore: a counting container, checkpointed and restored, goes on counting from where it was',
    async run(t) {
      const why = criuCheck();
      if (why !== undefined) t.skip(`criu check fails on this host: ${why}`);
      const b = await t.bundle((c, b) => b.bindOut().shell(COUNTER));
      // the whole lines written so far
      const numbers = () => (b.outFile('count') ?? '').split('\n').slice(0, -1).map(Number);
      const count = () => numbers().at(-1) ?? 0;
      await t.created(b);
      await t.started(b.id);
      const counting = async (above: number) => {
        for (let i = 0; i < 100 && count() <= above; i++) await sleep(100);
        return count() > above;
      };
      t.require(await counting(2), 'the container counts', common.start, { count: count() });

      const images = join(t.dir, 'images');
      const dumped = await runtimeCommand(t, ['checkpoint', '--image-path', images, '--work-path', images, b.id]);
      t.require(dumped.ok, 'checkpoint succeeds', checkpointReq, failure(dumped));
      const at = count();
      await sleep(500);
      t.equal(count(), at, 'the checkpointed container no longer counts', checkpointReq);

      const restored = await runtimeCommand(t, ['restore', '--detach', '--image-path', images, '--work-path', images, '--bundle', b.dir, b.id]);
      t.require(restored.ok, 'restore succeeds', restoreReq, failure(restored));
      const s = await t.state(b.id);
      t.equal(s.state?.status, 'running', 'the restored container is running', runningReq, failure(s));
      t.ok(await counting(at + 2), `it counts on past ${at}`, restoreReq, { count: count() });
      // the shell's variable came back with it: no restart from 1, no number lost
      const seq = numbers();
      const broken = seq.findIndex((n, i) => n !== i + 1);
      t.ok(broken < 0, `from where it was: the file holds 1 to ${seq.length}, each once, in order`, restoreReq,
        broken < 0 ? {} : { before: at, found: seq.slice(Math.max(0, broken - 2), broken + 3), at: broken + 1 });

      await t.kill(b.id, 'KILL');
      await t.stopped(b.id);
      await t.deleted(b.id);
    },
  },
];
