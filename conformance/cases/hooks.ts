import type { Case } from '../lib/context.js';
import { failure } from '../lib/context.js';
import { failingHookCase } from '../lib/hook-cases.js';
import {
  containerHook,
  HOOK_ARGS,
  HOOK_ENV,
  hookLog,
  hostHook,
  logged,
  loggingProgram,
  readHook,
} from '../lib/hooks.js';
import { inContainerNamespace, inRuntimeNamespace } from '../lib/namespaces.js';
import { req } from '../lib/spec.js';

const order = req('config.md', 'POSIX-platform Hooks', 'Hooks MUST be called in the listed order.');
const prestartFirst = req(
  'config.md',
  'Prestart',
  'The `prestart` hooks MUST be called before the `createRuntime` hooks.',
);
const createContainerAfter = req(
  'config.md',
  'CreateContainer Hooks',
  'The `createContainer` hooks MUST be called after the `createRuntime` hooks.',
);
const createRuntimeWhen = req(
  'config.md',
  'CreateRuntime Hooks',
  'The `createRuntime` hooks MUST be called as part of the `create` operation after the runtime environment has been created (according to the configuration in config.json) but before the `pivot_root` or any equivalent operation has been executed.',
);
const createRuntimePath = req(
  'config.md',
  'CreateRuntime Hooks',
  "The `createRuntime` hooks' path MUST resolve in the runtime namespace.",
);
const createRuntimeWhere = req(
  'config.md',
  'CreateRuntime Hooks',
  'The `createRuntime` hooks MUST be executed in the runtime namespace.',
);
const createContainerWhen = req(
  'config.md',
  'CreateContainer Hooks',
  'The `createContainer` hooks MUST be called as part of the `create` operation after the runtime environment has been created (according to the configuration in config.json) but before the `pivot_root` or any equivalent operation has been executed.',
);
const createContainerPath = req(
  'config.md',
  'CreateContainer Hooks',
  "The `createContainer` hooks' path MUST resolve in the runtime namespace.",
);
const createContainerWhere = req(
  'config.md',
  'CreateContainer Hooks',
  'The `createContainer` hooks MUST be executed in the container namespace.',
);
const startContainerWhen = req(
  'config.md',
  'StartContainer Hooks',
  'The `startContainer` hooks MUST be called before the user-specified process is executed as part of the `start` operation.',
);
const startContainerPath = req(
  'config.md',
  'StartContainer Hooks',
  "The `startContainer` hooks' path MUST resolve in the container namespace.",
);
const startContainerWhere = req(
  'config.md',
  'StartContainer Hooks',
  'The `startContainer` hooks MUST be executed in the container namespace.',
);
const argsSemantics = req(
  'config.md',
  'POSIX-platform Hooks',
  "`args` (array of strings, OPTIONAL) with the same semantics as IEEE Std 1003.1-2008 `execv`'s *argv*.",
);
const envSemantics = req(
  'config.md',
  'POSIX-platform Hooks',
  "`env` (array of strings, OPTIONAL) with the same semantics as IEEE Std 1003.1-2008's `environ`.",
);
const timeout = req(
  'config.md',
  'POSIX-platform Hooks',
  '`timeout` (int, OPTIONAL) is the number of seconds before aborting the hook.',
);
const prestartFails = req(
  'runtime.md',
  'Lifecycle',
  'If any `prestart` hook fails, the runtime MUST generate an error, stop the container, and continue the lifecycle at step 12.',
);

export const cases: Case[] = [
  {
    name: 'hooks',
    description: 'all six hook kinds, two of each, run in the listed order across create, start and delete',
    async run(t) {
      const b = await t.bundle((c, b) => {
        b.bindOut().shell(loggingProgram('true'));
        const two = (kind: string, make: typeof hostHook) => [make(b, `${kind}1`), make(b, `${kind}2`)];
        c.hooks = {
          prestart: two('prestart', hostHook),
          createRuntime: two('createRuntime', hostHook),
          createContainer: two('createContainer', hostHook),
          startContainer: two('startContainer', containerHook),
          poststart: two('poststart', hostHook),
          poststop: two('poststop', hostHook),
        };
      });
      await t.created(b);
      const atCreate = [
        'prestart1',
        'prestart2',
        'createRuntime1',
        'createRuntime2',
        'createContainer1',
        'createContainer2',
      ];
      t.equal(
        hookLog(b).slice(0, 2),
        atCreate.slice(0, 2),
        'prestart hooks run first, in their listed order',
        prestartFirst,
      );
      t.equal(
        hookLog(b).slice(2, 4),
        atCreate.slice(2, 4),
        'then the createRuntime hooks, in their listed order',
        order,
      );
      t.equal(
        hookLog(b),
        atCreate,
        'then the createContainer hooks, in their listed order, and nothing else during create',
        createContainerAfter,
      );
      await t.started(b.id);
      await t.stopped(b.id);
      const log = hookLog(b);
      t.equal(
        log.filter((l) => l.startsWith('startContainer') || l === 'program'),
        ['startContainer1', 'startContainer2', 'program'],
        'start runs the startContainer hooks in order, then the program',
        startContainerWhen,
      );
      t.equal(
        log.filter((l) => l.startsWith('poststart')),
        ['poststart1', 'poststart2'],
        'start runs the poststart hooks in their listed order',
        order,
      );
      await t.deleted(b.id);
      t.equal(
        hookLog(b).slice(-2),
        ['poststop1', 'poststop2'],
        'delete runs the poststop hooks in their listed order',
        order,
      );
    },
  },
  {
    name: 'hooks/createRuntime',
    description: 'createRuntime hooks run during create, in the runtime namespace, before pivot_root',
    async run(t) {
      const b = await t.bundle((c, b) => {
        b.bindOut().shell(loggingProgram('true'));
        c.hooks = { createRuntime: [hostHook(b, 'createRuntime')] };
      });
      await t.created(b);
      t.equal(
        hookLog(b),
        ['createRuntime'],
        'the hook has run when create returns, and the program has not',
        createRuntimeWhen,
      );
      const rec = readHook(b, 'createRuntime');
      t.ok(rec.ran, 'a hook path outside the rootfs resolves', createRuntimePath);
      t.equal(
        rec.rootPid,
        'no',
        "the container's root was not yet the bundle's rootfs when the hook ran",
        createRuntimeWhen,
        {
          stdin: rec.stdin,
        },
      );
      inRuntimeNamespace(t, 'createRuntime', rec, createRuntimeWhere);
      await t.started(b.id);
      await t.stopped(b.id);
      await t.deleted(b.id);
    },
  },
  {
    name: 'hooks/createContainer',
    description: 'createContainer hooks run during create, in the container namespace, before pivot_root',
    async run(t) {
      const b = await t.bundle((c, b) => {
        b.bindOut().shell(loggingProgram('true'));
        c.hooks = { createContainer: [hostHook(b, 'createContainer')] };
      });
      const pid = await t.created(b);
      t.equal(
        hookLog(b),
        ['createContainer'],
        'the hook has run when create returns, and the program has not',
        createContainerWhen,
      );
      const rec = readHook(b, 'createContainer');
      t.ok(rec.ran, 'a hook path outside the rootfs resolves', createContainerPath);
      t.equal(rec.rootSelf, 'no', "the root was not yet the bundle's rootfs when the hook ran", createContainerWhen);
      inContainerNamespace(t, 'createContainer', rec, pid, createContainerWhere);
      await t.started(b.id);
      await t.stopped(b.id);
      await t.deleted(b.id);
    },
  },
  {
    name: 'hooks/startContainer',
    description: 'startContainer hooks run during start, before the program, in the container namespace',
    async run(t) {
      const b = await t.bundle((c, b) => {
        b.bindOut().shell(loggingProgram('exec sleep 60'));
        c.hooks = { startContainer: [containerHook(b, 'startContainer')] };
      });
      const pid = await t.created(b);
      t.equal(hookLog(b), [], 'the hook has not run during create', startContainerWhen);
      await t.started(b.id);
      await logged(t, b, 'program');
      const rec = readHook(b, 'startContainer');
      t.ok(rec.ran, 'a hook path that exists only inside the rootfs resolves', startContainerPath);
      t.equal(hookLog(b)[0], 'startContainer', 'the hook ran before the user-specified program', startContainerWhen, {
        log: hookLog(b),
      });
      t.equal(rec.rootSelf, 'yes', "the hook ran with the container's root", startContainerWhere);
      inContainerNamespace(t, 'startContainer', rec, pid, startContainerWhere);
      await t.kill(b.id, 'KILL');
      await t.stopped(b.id);
      await t.deleted(b.id);
    },
  },
  {
    name: 'hooks/args_env',
    description: 'a hook gets exactly its configured argv and environment',
    async run(t) {
      const b = await t.bundle((c, b) => {
        b.shell('true');
        c.hooks = { createRuntime: [hostHook(b, 'createRuntime')] };
      });
      await t.created(b);
      const rec = readHook(b, 'createRuntime');
      t.equal(rec.args, HOOK_ARGS, "the hook's arguments after argv[0] are the configured ones", argsSemantics);
      const env = rec.env.filter((e) => !/^(PWD|SHLVL|_)=/.test(e)).sort();
      t.equal(
        env,
        [...HOOK_ENV].sort(),
        "the hook's environment is the configured one (the shell's own PWD aside)",
        envSemantics,
      );
      await t.started(b.id);
      await t.stopped(b.id);
      await t.deleted(b.id);
    },
  },
  {
    name: 'hooks/timeout',
    description: 'a hook that outlives its timeout is aborted and create fails',
    timeoutMs: 90_000,
    async run(t) {
      const b = await t.bundle((c, b) => {
        b.shell('true');
        c.hooks = { prestart: [hostHook(b, 'prestart', { sleep: 30, timeout: 1 })] };
      });
      const began = Date.now();
      const r = await t.create(b, { timeoutMs: 60_000 });
      const seconds = (Date.now() - began) / 1000;
      t.ok(!r.ok, 'create fails when a hook times out', prestartFails, failure(r));
      t.ok(seconds < 15, 'the hook is aborted soon after its 1 s timeout, not waited for (30 s)', timeout, { seconds });
    },
  },
  failingHookCase('hooks/createRuntime_fail', 'createRuntime'),
  failingHookCase('hooks/createContainer_fail', 'createContainer'),
  failingHookCase('hooks/startContainer_fail', 'startContainer'),
];
