import t from 'tap';
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, Sandbox, baseConfig, sharedRootfs } from '../helpers/containers.js';
import { fdsOf, initPid } from './helpers.js';

/** Fd leaks: what the container gets of the runtime's and its caller's fds (docs/security.md). */

const rootfs = sharedRootfs(t);

t.test('fd census: the container gets stdio and the fds its caller passed, nothing of the runtime', async (t) => {
  const sb = new Sandbox(t);
  // the decoy: node opens fds of its own at the lowest free numbers, from 3 on
  const own = spawnSync(process.execPath, ['-e', 'console.log(require("fs").readdirSync("/proc/self/fd").join(" "))'], {
    stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8',
  });
  t.ok(own.stdout.split(' ').map(Number).some((n) => n >= 3 && n <= 5), `node holds low fds of its own: ${own.stdout.trim()}`);

  const passed = [openSync(join(sb.dir, 'a'), 'w'), openSync(join(sb.dir, 'b'), 'w')];
  t.teardown(() => passed.forEach((fd) => closeSync(fd)));
  /** runts with stdio on files and `extra` fds passed at 3, 4…, as an engine passes them. */
  const runts = (args: string[], extra: number[] = []) => {
    const out = join(sb.dir, `out-${args[0]}-${args[args.length - 1]}`);
    const fd = openSync(out, 'w');
    try {
      const stdio: ('ignore' | number)[] = ['ignore', fd, fd, ...extra];
      const r = spawnSync(join(REPO_ROOT, 'bin', 'runts'), ['--root', sb.root, ...args], { stdio, timeout: 30_000 });
      return { status: r.status, output: readFileSync(out, 'utf8') };
    } finally {
      closeSync(fd);
    }
  };
  /** The fds of a process of the container, seen from the host, with their targets. */
  const census = (pid: number) => [...fdsOf(pid).keys()].sort((a, b) => a - b).join(' ');
  const sleeper = () => sb.bundle(baseConfig(rootfs, ['sleep', '1000']));

  t.equal(runts(['run', '--detach', '--bundle', sleeper(), 'fds1']).status, 0);
  t.equal(census(initPid(sb, 'fds1')), '0 1 2', 'run: stdio only');
  const pidFile = join(sb.dir, 'exec.pid');
  t.equal(runts(['exec', '--detach', '--pid-file', pidFile, 'fds1', 'sleep', '1000']).status, 0);
  t.equal(census(Number(readFileSync(pidFile, 'utf8'))), '0 1 2', 'exec: stdio only');

  const two = runts(['run', '--detach', '--preserve-fds', '2', '--bundle', sleeper(), 'fds2'], passed);
  t.equal(two.status, 0, two.output);
  const init = initPid(sb, 'fds2');
  t.equal(census(init), '0 1 2 3 4', '--preserve-fds 2 passes exactly the two');
  t.equal(readlinkSync(`/proc/${init}/fd/3`), join(sb.dir, 'a'), 'fd 3 is the caller\'s');
  t.equal(runts(['exec', '--detach', '--pid-file', pidFile, '--preserve-fds', '2', 'fds1', 'sleep', '1000'], passed).status, 0);
  t.equal(census(Number(readFileSync(pidFile, 'utf8'))), '0 1 2 3 4', 'exec --preserve-fds 2');

  for (const n of [3, 5, 40]) {
    const more = runts(['run', '--detach', '--preserve-fds', String(n), '--bundle', sleeper(), `more${n}`], passed);
    t.equal(more.status, 1, `--preserve-fds ${n} with two fds passed fails`);
    t.match(more.output, `--preserve-fds ${n}: fd 5 was not passed to runts`);
    t.notOk(existsSync(join(sb.root, `more${n}`)), 'nothing left');
    const exec = runts(['exec', '--detach', '--preserve-fds', String(n), 'fds1', 'sleep', '1000'], passed);
    t.equal(exec.status, 1, `exec --preserve-fds ${n} fails`);
    t.match(exec.output, `--preserve-fds ${n}: fd 5 was not passed to runts`);
  }
  const none = runts(['run', '--detach', '--preserve-fds', '1', '--bundle', sleeper(), 'none']);
  t.equal(none.status, 1, '--preserve-fds 1 with no fd passed fails');
  t.match(none.output, '--preserve-fds 1: fd 3 was not passed to runts');
});

t.test('socket activation: LISTEN_FDS fds go to the container, told of them as runc tells it', async (t) => {
  const sb = new Sandbox(t);
  const passed = ['a', 'b', 'c'].map((n) => openSync(join(sb.dir, n), 'w'));
  t.teardown(() => passed.forEach((fd) => closeSync(fd)));
  /**
   * runts started as systemd starts an activated service: LISTEN_FDS, and LISTEN_PID the
   * pid runts runs as (sh execs it) or, with `pid`, another one.
   */
  const activated = (listen: number, args: string[], extra: number[], pid = '$$') => {
    const out = join(sb.dir, `out-${args[args.length - 1]}`);
    const fd = openSync(out, 'w');
    try {
      const script = `LISTEN_FDS=${listen} LISTEN_PID=${pid}; export LISTEN_FDS LISTEN_PID; exec "$0" "$@"`;
      const r = spawnSync('sh', ['-c', script, join(REPO_ROOT, 'bin', 'runts'), '--root', sb.root, ...args], {
        stdio: ['ignore', fd, fd, ...extra], timeout: 30_000,
      });
      return { status: r.status, output: readFileSync(out, 'utf8') };
    } finally {
      closeSync(fd);
    }
  };
  const sleeper = () => sb.bundle(baseConfig(rootfs, ['sleep', '1000']));
  const census = (pid: number) => [...fdsOf(pid).keys()].sort((a, b) => a - b).join(' ');
  const env = (pid: number) => readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter((v) => v.startsWith('LISTEN_'));
  const nsPid = (pid: number) => /^NSpid:.*\s(\d+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];

  const two = activated(2, ['run', '--detach', '--bundle', sleeper(), 'act'], passed.slice(0, 2));
  t.equal(two.status, 0, two.output);
  const init = initPid(sb, 'act');
  t.equal(census(init), '0 1 2 3 4', 'LISTEN_FDS=2: fds 3 and 4 are passed');
  t.equal(readlinkSync(`/proc/${init}/fd/4`), join(sb.dir, 'b'), 'fd 4 is the caller\'s second');
  t.same(env(init), ['LISTEN_FDS=2', 'LISTEN_PID=1'], 'the process is told of them');
  t.equal(nsPid(init), '1', 'and LISTEN_PID is its pid in its pid namespace');

  const both = activated(2, ['run', '--detach', '--preserve-fds', '1', '--bundle', sleeper(), 'both'], passed);
  t.equal(both.status, 0, both.output);
  t.equal(census(initPid(sb, 'both')), '0 1 2 3 4 5', 'LISTEN_FDS=2 and --preserve-fds 1: fds 3 to 5');
  t.same(env(initPid(sb, 'both')), ['LISTEN_FDS=2', 'LISTEN_PID=1'], 'LISTEN_FDS counts the activated fds only');

  const other = activated(2, ['run', '--detach', '--bundle', sleeper(), 'other'], passed.slice(0, 2), '1');
  t.equal(other.status, 0, other.output);
  t.equal(census(initPid(sb, 'other')), '0 1 2', 'LISTEN_PID of another process: its fds are not runts\' to pass');
  t.same(env(initPid(sb, 'other')), [], 'and the process is told of none');

  const more = activated(3, ['run', '--detach', '--bundle', sleeper(), 'more'], passed.slice(0, 2));
  t.equal(more.status, 1, 'LISTEN_FDS=3 with two fds passed fails');
  t.match(more.output, 'LISTEN_FDS=3 and --preserve-fds 0: fd 5 was not passed to runts');
  t.notOk(existsSync(join(sb.root, 'more')), 'nothing left');
});
