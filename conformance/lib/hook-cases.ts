import { existsSync } from 'node:fs';
import { hierarchyDirs } from './cgroups.js';
import { failure, type Case } from './context.js';
import { containerHook, hookLog, hostHook, logged, loggingProgram, type HookKind } from './hooks.js';
import { common, req, type Requirement } from './spec.js';

const lifecycleStep: Record<Exclude<HookKind, 'poststop'>, Requirement> = {
  prestart: req(
    'runtime.md',
    'Lifecycle',
    'If any `prestart` hook fails, the runtime MUST generate an error, stop the container, and continue the lifecycle at step 12.',
  ),
  createRuntime: req(
    'runtime.md',
    'Lifecycle',
    'If any `createRuntime` hook fails, the runtime MUST generate an error, stop the container, and continue the lifecycle at step 12.',
  ),
  createContainer: req(
    'runtime.md',
    'Lifecycle',
    'If any `createContainer` hook fails, the runtime MUST generate an error, stop the container, and continue the lifecycle at step 12.',
  ),
  startContainer: req(
    'runtime.md',
    'Lifecycle',
    'If any `startContainer` hook fails, the runtime MUST generate an error, stop the container, and continue the lifecycle at step 12.',
  ),
  poststart: req(
    'runtime.md',
    'Lifecycle',
    'If any `poststart` hook fails, the runtime MUST generate an error, stop the container, and continue the lifecycle at step 12.',
  ),
};
const runsAt = {
  startContainer: req(
    'config.md',
    'StartContainer Hooks',
    'The `startContainer` hooks MUST be called before the user-specified process is executed as part of the `start` operation.',
  ),
  poststart: req(
    'config.md',
    'Poststart',
    'The `poststart` hooks MUST be called after the user-specified process is executed but before the `start` operation returns.',
  ),
};
const destroyed = req(
  'runtime.md',
  'Lifecycle',
  'The container MUST be destroyed by undoing the steps performed during create phase (step 2).',
);
const poststopInvoked = req('runtime.md', 'Lifecycle', 'The `poststop` hooks MUST be invoked by the runtime.');

/**
 * A hook of `kind` that exits 1: the operation that runs it must fail, the container must
 * be stopped and destroyed, and the poststop hooks must still run (lifecycle steps 12
 * and 13). A container that still exists after the failed operation is deleted by the
 * case, as a caller would, before the last two are checked.
 */
export function failingHookCase(name: string, kind: Exclude<HookKind, 'poststop'>): Case {
  const duringStart = kind === 'startContainer' || kind === 'poststart';
  return {
    name,
    description: `a failing ${kind} hook makes ${duringStart ? 'start' : 'create'} fail, stops and destroys the container, runs poststop`,
    async run(t) {
      const b = await t.bundle((c, b) => {
        b.bindOut().shell(loggingProgram('exec sleep 60'));
        const failing =
          kind === 'startContainer' ? containerHook(b, kind, { exit: 1 }) : hostHook(b, kind, { exit: 1 });
        c.hooks = { [kind]: [failing], poststop: [hostHook(b, 'poststop')] };
      });
      const step = lifecycleStep[kind];
      const created = await t.create(b);
      let failed = created;
      if (duringStart) {
        t.ok(!hookLog(b).includes(kind), `the ${kind} hook does not run during create`, runsAt[kind], {
          log: hookLog(b),
        });
        t.require(created.ok, 'create succeeds', common.create, failure(created));
        failed = await t.start(b.id);
      }
      t.ok(!failed.ok, `${duringStart ? 'start' : 'create'} fails when a ${kind} hook fails`, step, failure(failed));
      t.ok(await logged(t, b, kind, 5000), `the ${kind} hook ran`, step, { log: hookLog(b) });
      if (kind !== 'poststart') {
        t.ok(!hookLog(b).includes('program'), 'the user-specified program never ran', step, { log: hookLog(b) });
      }
      const s = await t.state(b.id);
      t.ok(!s.ok || s.state?.status === 'stopped', 'the container is stopped', step, { state: s.state });
      if (s.ok) {
        const d = await t.delete(b.id);
        if (!d.ok) await t.delete(b.id, true);
      }
      t.ok(hookLog(b).includes('poststop'), 'the poststop hook was invoked', poststopInvoked, { log: hookLog(b) });
      const cgroups = hierarchyDirs(t.host, b.linux.cgroupsPath ?? '').filter((d) => existsSync(d));
      t.equal(cgroups, [], "the container's cgroups are removed", destroyed);
    },
  };
}
