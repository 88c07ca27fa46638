import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { Sandbox, baseConfig, sharedRootfs, until } from '../helpers/containers.js';
import { CRASH, leftovers, runtsBounded } from './helpers.js';

/**
 * Every wait on the setup has a bound, and each is provoked here for real: an init that
 * stops before it reports ready, one that stops before it answers start, an exec into a
 * frozen container, a console socket that accepts nothing, and hooks that outlive their
 * timeouts. Each must end in exit status 1,
 * one line naming what was waited for, within a time bound, with nothing left behind.
 * RUNTS_SETUP_TIMEOUT_MS shortens the 60 s setup bound for the test (it can only shorten).
 */

const sandbox = new Sandbox(t);
const rootfs = sharedRootfs(t);
const NOTHING = { stateDirs: [], cgroups: [], mounts: [], processes: [] };
const BOUND_MS = 2000;
const SHORT = { RUNTS_SETUP_TIMEOUT_MS: String(BOUND_MS) };
/** What cleaning up may add to a bound: killing, reaping, removing cgroups, a loaded machine. */
const SLACK_MS = 8000;

/** A host script that stops the process whose pid the state on its stdin names. */
const stopInit = join(sandbox.dir, 'stop-init');
writeFileSync(stopInit, '#!/bin/sh\nkill -STOP "$(sed -n \'s/.*"pid":\\([0-9]*\\).*/\\1/p\')"\n');
chmodSync(stopInit, 0o755);

/**
 * A hook that sleeps far past its timeout. Its argv[0] names the sandbox, so a hook left
 * running shows among the leftovers: busybox (in the container) runs the applet named by
 * argv[1] when argv[0]'s base name is busybox, and coreutils' sleep ignores argv[0].
 */
const inContainerSleeper = { path: '/bin/busybox', args: [join(sandbox.dir, 'busybox'), 'sleep', '1000'], timeout: 1 };
const hostSleeper = { path: '/bin/sleep', args: [join(sandbox.dir, 'sleep'), '1000'], timeout: 1 };

function config(edit: (c: any) => void = () => undefined): any {
  const c = baseConfig(rootfs, ['sleep', '1000']);
  edit(c);
  return c;
}

function lines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l !== '');
}

interface Bounded {
  status: number | null;
  stderr: string;
  ms: number;
}

function timed(args: string[], env: Record<string, string> = {}): Bounded {
  const start = Date.now();
  const r = runtsBounded(sandbox.root, sandbox.dir, args, 60_000, env);
  return { status: r.status, stderr: r.stderr, ms: Date.now() - start };
}

function expectBounded(t: Test, r: Bounded, line: RegExp, boundMs: number): void {
  t.equal(r.status, 1, 'exit status 1');
  t.match(lines(r.stderr), [line], 'one line, naming what was waited for');
  t.notMatch(r.stderr, CRASH, 'no crash');
  t.ok(r.ms >= boundMs - 100 && r.ms < boundMs + SLACK_MS, `ended after the bound of ${boundMs} ms, within ${SLACK_MS} ms more (${r.ms} ms)`);
}

const nothingLeft = async (t: Test) =>
  t.ok(await until(() => JSON.stringify(leftovers(sandbox, rootfs)) === JSON.stringify(NOTHING)), 'nothing left', leftovers(sandbox, rootfs));

for (const cmd of ['create', 'run']) {
  t.test(`${cmd}: an init that never reports ready`, async (t) => {
    const bundle = sandbox.bundle(config((c) => (c.hooks = { createRuntime: [{ path: stopInit }] })));
    const r = timed([cmd, '--bundle', bundle, `ready-${cmd}`], SHORT);
    expectBounded(t, r, /^create: the container init did not report ready within 2 s$/, BOUND_MS);
    await nothingLeft(t);
  });
}

/**
 * With no_new_privs the filter is loaded just before the init reports ready; one that
 * denies everything denies that report and the exit after it, and the init can only spin.
 * A createContainer hook without a timeout before it does not lift the bound: the init
 * reports when its hooks are done.
 */
for (const withHook of [false, true]) {
  t.test(`create: a seccomp filter that denies the report of ready${withHook ? ', after a hook without a timeout' : ''}`, async (t) => {
    const bundle = sandbox.bundle(config((c) => {
      c.process.noNewPrivileges = true;
      c.linux.seccomp = { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [] };
      if (withHook) c.hooks = { createContainer: [{ path: '/bin/true' }] };
    }));
    const r = timed(['create', '--bundle', bundle, `denied${Number(withHook)}`], SHORT);
    expectBounded(t, r, /^create: the container init did not report ready within 2 s$/, BOUND_MS);
    await nothingLeft(t);
  });
}

t.test('start: an init that never answers', async (t) => {
  const bundle = sandbox.bundle(config());
  t.equal(timed(['create', '--bundle', bundle, 'answer']).status, 0, 'created');
  const pid = sandbox.state('answer').pid as number;
  process.kill(pid, 'SIGSTOP');
  const r = timed(['start', 'answer'], SHORT);
  expectBounded(t, r, /^start: the container init did not acknowledge start within 2 s$/, BOUND_MS);
  await nothingLeft(t);
});

t.test('exec: a process that cannot start in a paused container', async (t) => {
  const bundle = sandbox.bundle(config());
  t.equal(timed(['run', '--detach', '--bundle', bundle, 'frozen']).status, 0, 'running');
  const pids = () => sandbox.runts(['ps', '--format', 'json', 'frozen']).stdout;
  const before = pids();
  t.equal(sandbox.runts(['pause', 'frozen']).status, 0, 'paused');
  const r = timed(['exec', '--ignore-paused', 'frozen', 'true'], SHORT);
  expectBounded(t, r, /^exec: the process did not start within 2 s in the paused container \(killed, it ends once the container is resumed\)$/, BOUND_MS);
  t.equal(sandbox.runts(['resume', 'frozen']).status, 0, 'resumed');
  t.ok(await until(() => pids() === before), 'once resumed, only the container\'s own process is left', { before, after: pids() });
  t.equal(sandbox.state('frozen').status, 'running', 'the container goes on');
  t.equal(sandbox.runts(['delete', '--force', 'frozen']).status, 0);
  await nothingLeft(t);
});

/** A unix socket listener that accepts nothing, with its backlog already full (python3). */
const FULL_LISTENER = `
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(0)
waiting = []
for _ in range(4):
    c = socket.socket(socket.AF_UNIX)
    c.setblocking(False)
    try:
        c.connect(sys.argv[1])
    except BlockingIOError:
        pass
    waiting.append(c)
print("listening", flush=True)
time.sleep(120)
`;

t.test('create: a console socket that accepts nothing', async (t) => {
  const path = join(sandbox.dir, 'console.sock');
  const listener = spawn('python3', ['-c', FULL_LISTENER, path], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => listener.kill('SIGKILL'));
  await once(listener.stdout, 'data');
  const bundle = sandbox.bundle(config((c) => (c.process.terminal = true)));
  const r = timed(['create', '--bundle', bundle, '--console-socket', path, 'console'], SHORT);
  expectBounded(t, r, new RegExp(`^console socket ${path} did not accept the connection within 2 s$`), BOUND_MS);
  listener.kill('SIGKILL');
  await once(listener, 'exit');
  await nothingLeft(t);
});

const hookCases = [
  { phase: 'createRuntime', hook: hostSleeper, at: 'create' },
  { phase: 'prestart', hook: hostSleeper, at: 'create' },
  { phase: 'createContainer', hook: inContainerSleeper, at: 'create' },
  { phase: 'startContainer', hook: inContainerSleeper, at: 'start' },
] as const;

for (const c of hookCases) {
  t.test(`a ${c.phase} hook past its timeout`, async (t) => {
    const id = `hook-${c.phase}`;
    const bundle = sandbox.bundle(config((conf) => (conf.hooks = { [c.phase]: [c.hook] })));
    const expect = new RegExp(`^config\\.json: hooks\\.${c.phase}\\[0\\]: ${c.phase} hook 0 \\(${c.hook.path}\\) failed: timed out after 1 s$`);
    if (c.at === 'start') {
      t.equal(timed(['create', '--bundle', bundle, id]).status, 0, 'created');
      expectBounded(t, timed(['start', id]), expect, 1000);
    } else {
      expectBounded(t, timed(['create', '--bundle', bundle, id]), expect, 1000);
    }
    await nothingLeft(t);
  });
}

t.test('a hook without a timeout is waited for, as with runc and crun', async (t) => {
  const bundle = sandbox.bundle(config((c) => (c.hooks = { createContainer: [{ path: '/bin/sleep', args: ['sleep', '3'] }] })));
  const r = timed(['create', '--bundle', bundle, 'patient'], SHORT);
  t.equal(r.status, 0, `create waits for the hook past the setup bound: ${r.stderr}`);
  t.ok(r.ms >= 3000, `${r.ms} ms`);
  t.equal(sandbox.runts(['delete', '--force', 'patient']).status, 0);
  await nothingLeft(t);
});
