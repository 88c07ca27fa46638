import t from 'tap';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { dirname } from 'node:path';
import { freeze, isPaused, thaw } from '../../src/linux/cgroups/freezer.js';
import { RUNTS, Sandbox, baseConfig, sharedRootfs, until } from '../helpers/containers.js';

/** pause and resume: the freezer of the container's cgroup, as the kernel reports it. */

const rootfs = sharedRootfs(t);

/** The kernel's word on a process: its State line in /proc/<pid>/status. */
function procState(pid: number): string {
  return /^State:\s*(.*)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '';
}

/** The container's freezer file and the value it holds when frozen. */
function freezerFile(pid: number): { file: string; frozen: string } {
  const lines = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n');
  const v1 = lines.find((l) => /^\d+:([^:]*,)?freezer(,[^:]*)?:/.test(l));
  if (v1) return { file: `/sys/fs/cgroup/freezer${v1.split(':')[2]}/freezer.state`, frozen: 'FROZEN' };
  const v2 = lines.find((l) => l.startsWith('0::'))!;
  const mount = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => / - cgroup2 /.test(l))!.split(' ')[4];
  return { file: `${mount}${v2.slice(3)}/cgroup.freeze`, frozen: '1' };
}

t.test('pause freezes every process, resume thaws them; state follows', async (t) => {
  const sb = new Sandbox(t);
  // a counter that only advances while the container runs
  const script = 'i=0; while true; do i=$((i+1)); echo $i > /tmp/count; done';
  const config = baseConfig(rootfs, ['sh', '-c', script]);
  config.root.readonly = false;
  t.equal(sb.runts(['run', '--detach', '--bundle', sb.bundle(config), 'pz']).status, 0);
  const pid = sb.state('pz').pid as number;
  const { file, frozen } = freezerFile(pid);

  const r = sb.runts(['pause', 'pz']);
  t.equal(r.status, 0, r.stderr);
  t.equal(sb.state('pz').status, 'paused');
  t.equal(readFileSync(file, 'utf8').trim(), frozen, `${file} says frozen`);
  const count = () => readFileSync(`/proc/${pid}/root/tmp/count`, 'utf8');
  const before = count();
  await new Promise((r) => setTimeout(r, 300));
  t.equal(count(), before, 'the counter stands still');
  t.match(procState(pid), /^[DS]/, `the process is not running (${procState(pid)})`);

  t.equal(sb.runts(['pause', 'pz']).stderr.trim(), 'container not running', 'pause twice');
  t.equal(sb.runts(['exec', 'pz', 'true']).stderr.trim(), 'cannot exec in a paused container (use --ignore-paused to override)');
  t.equal(sb.runts(['delete', 'pz']).status, 1, 'delete without --force refuses');
  // As with runc, --ignore-paused execs into the frozen cgroups: the process runs once resumed.
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  delete env.NODE_EXTRA_CA_CERTS;
  const ignoring = spawn(RUNTS, ['--root', sb.root, 'exec', '--ignore-paused', 'pz', 'sh', '-c', 'echo ran > /tmp/exec-mark'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let ignoringErr = '';
  ignoring.stderr.on('data', (d) => (ignoringErr += d));
  const ignored = new Promise<number | null>((r) => ignoring.on('exit', (code) => r(code)));
  t.teardown(() => {
    ignoring.kill('SIGKILL');
  });
  const procs = () => readFileSync(`${dirname(file)}/cgroup.procs`, 'utf8').trim().split('\n');
  t.ok(await until(() => procs().length > 1), 'the exec waits in the frozen cgroup');

  const resumed = sb.runts(['resume', 'pz']);
  t.equal(resumed.status, 0, resumed.stderr);
  t.equal(await ignored, 0, `exec --ignore-paused: ${ignoringErr}`);
  t.equal(readFileSync(`/proc/${pid}/root/tmp/exec-mark`, 'utf8'), 'ran\n', 'its process ran in the container');
  t.equal(sb.state('pz').status, 'running');
  t.ok(await until(() => count() !== before), 'the counter moves again');
  t.equal(sb.runts(['resume', 'pz']).stderr.trim(), 'container not paused', 'resume twice');

  t.equal(sb.runts(['pause', 'pz']).status, 0);
  t.equal(sb.runts(['kill', 'pz', 'KILL']).status, 0, 'kill a paused container');
  t.ok(await until(() => sb.state('pz').status === 'stopped'), 'SIGKILL ends it');
  t.equal(sb.runts(['pause', 'pz']).stderr.trim(), 'container not running', 'pause a stopped container');
});

t.test('delete --force of a paused container', async (t) => {
  const sb = new Sandbox(t);
  t.equal(sb.runts(['run', '--detach', '--bundle', sb.bundle(baseConfig(rootfs, ['sleep', '1000'])), 'pzd']).status, 0);
  const pid = sb.state('pzd').pid as number;
  t.equal(sb.runts(['pause', 'pzd']).status, 0);
  const r = sb.runts(['delete', '--force', 'pzd']);
  t.equal(r.status, 0, r.stderr);
  let gone = 'gone';
  try {
    gone = procState(pid);
  } catch {
    // reaped
  }
  t.match(gone, /^(gone|Z|X)/, 'the process is gone (or a zombie of a parent that does not reap)');
  t.equal(sb.runts(['state', 'pzd']).stderr.trim(), 'container does not exist: pzd');
});

t.test('pause and resume of an unknown container', async (t) => {
  const sb = new Sandbox(t);
  t.equal(sb.runts(['pause', 'nosuch']).stderr.trim(), 'container does not exist: nosuch');
  t.equal(sb.runts(['resume', 'nosuch']).stderr.trim(), 'container does not exist: nosuch');
});

/** The cgroup2 mount of this host, whether it is / or the hybrid host's unified. */
const cgroup2 = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => / - cgroup2 /.test(l))?.split(' ')[4];

t.test('the cgroup2 freezer (cgroup.freeze), used when no v1 freezer is mounted', { skip: !cgroup2 && 'no cgroup2 mount' }, async (t) => {
  const dir = `${cgroup2}/runts-test-freeze-${process.pid}`;
  mkdirSync(dir);
  const child = spawn('sleep', ['1000'], { stdio: 'ignore' });
  t.teardown(() => {
    child.kill('SIGKILL');
    writeFileSync(`${dir}/cgroup.freeze`, '0');
    for (let i = 0; i < 100 && existsSync(dir); i++) {
      try {
        rmdirSync(dir);
      } catch {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
      }
    }
  });
  writeFileSync(`${dir}/cgroup.procs`, String(child.pid));
  const state = { paths: [dir], created: [] };
  freeze(state);
  t.match(readFileSync(`${dir}/cgroup.events`, 'utf8'), /^frozen 1$/m, 'cgroup.events says frozen');
  t.ok(isPaused(state));
  t.match(procState(child.pid!), /^[DS]/);
  thaw(state);
  t.match(readFileSync(`${dir}/cgroup.events`, 'utf8'), /^frozen 0$/m, 'thawed');
  t.notOk(isPaused(state));
});
