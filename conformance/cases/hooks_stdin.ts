import { checkState } from '../lib/checks.js';
import type { Case } from '../lib/context.js';
import { containerHook, hostHook, readHook, type HookKind } from '../lib/hooks.js';
import { req } from '../lib/spec.js';

const stdin = req(
  'config.md',
  'POSIX-platform Hooks',
  'The state of the container MUST be passed to hooks over stdin so that they may do work appropriate to the current state of the container.',
);
const pidSeen = req(
  'runtime.md',
  'State',
  'For hooks executed in the container namespace, it is the pid as seen by the container.',
);
const pidRuntime = req(
  'runtime.md',
  'State',
  'For hooks executed in the runtime namespace, it is the pid as seen by the runtime.',
);

/**
 * The status each hook may see. The create-time hooks run while create has not finished
 * (`creating`), or after step 2 of the lifecycle (`created`); startContainer runs before
 * the program executes (`created`); poststart after it did (`running`, or `stopped` if it
 * already exited); poststop once it exited.
 */
const STATUS: Record<HookKind, string[]> = {
  prestart: ['creating', 'created'],
  createRuntime: ['creating', 'created'],
  createContainer: ['creating', 'created'],
  startContainer: ['created'],
  poststart: ['running'],
  poststop: ['stopped'],
};

export const cases: Case[] = [
  {
    name: 'hooks_stdin',
    description: 'every kind of hook reads the container state on stdin',
    async run(t) {
      const annotations = { 'org.example.hooks': 'stdin test' };
      const b = await t.bundle((c, b) => {
        c.annotations = annotations;
        b.bindOut().shell('exec sleep 60');
        c.hooks = {
          prestart: [hostHook(b, 'prestart')],
          createRuntime: [hostHook(b, 'createRuntime')],
          createContainer: [hostHook(b, 'createContainer')],
          startContainer: [containerHook(b, 'startContainer')],
          poststart: [hostHook(b, 'poststart')],
          poststop: [hostHook(b, 'poststop')],
        };
      });
      const pid = await t.created(b);
      await t.started(b.id);
      await t.kill(b.id, 'KILL');
      await t.stopped(b.id);
      await t.deleted(b.id);
      for (const kind of Object.keys(STATUS) as HookKind[]) {
        const rec = readHook(b, kind);
        if (!t.ok(rec.state !== undefined, `the ${kind} hook read a JSON state on stdin`, stdin, { stdin: rec.stdin }))
          continue;
        checkState(t, `${kind} stdin`, rec.state, { id: b.id, bundle: b.dir, status: STATUS[kind], annotations });
        if (kind === 'createContainer' || kind === 'startContainer') {
          t.equal(rec.state?.pid, 1, `${kind} stdin: pid is the container process as the container sees it`, pidSeen);
        } else if (kind !== 'poststop') {
          t.equal(
            rec.state?.pid,
            pid,
            `${kind} stdin: pid is the container process as the runtime sees it`,
            pidRuntime,
          );
        }
      }
    },
  },
];
