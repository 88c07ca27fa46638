import t from 'tap';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Sandbox, baseConfig, childPids, sharedRootfs, until } from '../helpers/containers.js';

const rootfs = sharedRootfs(t);

function alive(pid: number): boolean {
  try {
    const st = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const state = st.slice(st.lastIndexOf(')') + 2).split(' ')[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

t.test('create, start, state, kill, delete: the transitions of runtime.md', async (t) => {
  const sb = new Sandbox(t);
  const bundle = sb.bundle(baseConfig(rootfs, ['sleep', '1000']));
  const c = sb.runts(['create', '--bundle', bundle, 'c1']);
  t.equal(c.status, 0, c.stderr);
  const created = sb.state('c1');
  t.equal(created.status, 'created');
  t.equal(created.id, 'c1');
  t.equal(created.bundle, bundle);
  t.ok(alive(created.pid), 'init exists while created');
  t.match(readFileSync(`/proc/${created.pid}/status`, 'utf8'), /NSpid:\s+\d+\s+1\n/, 'init is pid 1 of its namespace');

  const dup = sb.runts(['create', '--bundle', bundle, 'c1']);
  t.equal(dup.status, 1);
  t.match(dup.stderr, 'container with id exists');

  const del = sb.runts(['delete', 'c1']);
  t.equal(del.status, 1, 'a created container is not deleted without --force');
  t.match(del.stderr, 'that is not stopped: created');

  t.equal(sb.runts(['start', 'c1']).status, 0);
  t.equal(sb.state('c1').status, 'running');
  t.match(readFileSync(`/proc/${created.pid}/cmdline`, 'latin1'), /^sleep\0/, 'the process runs process.args');

  const again = sb.runts(['start', 'c1']);
  t.equal(again.status, 1, 'start twice fails');
  t.match(again.stderr, 'cannot start an already running container');

  const delRunning = sb.runts(['delete', 'c1']);
  t.equal(delRunning.status, 1, 'a running container is not deleted without --force');
  t.match(delRunning.stderr, 'not stopped: running');

  t.equal(sb.runts(['kill', 'c1', 'KILL']).status, 0);
  t.ok(await until(() => sb.state('c1').status === 'stopped'), 'stopped after SIGKILL');
  t.equal(sb.state('c1').pid, 0);

  const startStopped = sb.runts(['start', 'c1']);
  t.equal(startStopped.status, 1, 'start after stop fails');
  t.match(startStopped.stderr, 'cannot start a container that has stopped');

  const killStopped = sb.runts(['kill', 'c1']);
  t.equal(killStopped.status, 1, 'kill of a stopped container fails');
  t.match(killStopped.stderr, 'container not running');

  t.equal(sb.runts(['delete', 'c1']).status, 0);
  t.notOk(existsSync(join(sb.root, 'c1')), 'state dir gone');
  const gone = sb.runts(['state', 'c1']);
  t.equal(gone.status, 1);
  t.match(gone.stderr, 'container does not exist');
});

t.test('unknown and bad ids', async (t) => {
  const sb = new Sandbox(t);
  for (const cmd of [['state'], ['start'], ['kill'], ['delete']]) {
    const r = sb.runts([...cmd, 'nosuch']);
    t.equal(r.status, 1, `${cmd[0]} of an unknown id`);
    t.match(r.stderr, 'container does not exist');
  }
  const bundle = sb.bundle(baseConfig(rootfs, ['true']));
  for (const id of ['../escape', 'a/b', '..', 'with space', '']) {
    const r = sb.runts(['create', '--bundle', bundle, id]);
    t.equal(r.status, 1, `create ${JSON.stringify(id)} fails`);
    t.notOk(existsSync(join(sb.dir, 'escape')), 'nothing written outside the root');
  }
  t.match(sb.runts(['state', '../x']).stderr, 'invalid container id');
});

t.test('kill: signal names with and without SIG, numbers; --all', async (t) => {
  const sb = new Sandbox(t);
  // A trap proves the signal arrived: sh as pid 1 only gets signals it handles.
  const script = 'trap "echo got-usr1 > /dev/shm/mark; exit 7" USR1; while :; do sleep 0.05; done';
  for (const [i, sig] of ['USR1', 'SIGUSR1', '10'].entries()) {
    const config = baseConfig(rootfs, ['sh', '-c', script]);
    const id = `k${i}`;
    t.equal(sb.runts(['run', '--detach', '--bundle', sb.bundle(config), id]).status, 0);
    const pid = sb.state(id).pid;
    await until(() => readFileSync(`/proc/${pid}/cmdline`, 'latin1').startsWith('sh'));
    const r = sb.runts(['kill', id, sig]);
    t.equal(r.status, 0, `kill ${sig}: ${r.stderr}`);
    t.ok(await until(() => sb.state(id).status === 'stopped'), `${sig} delivered`);
  }
  const bad = sb.runts(['kill', 'k0', 'NOSUCHSIG']);
  t.equal(bad.status, 1);

  const config = baseConfig(rootfs, ['sh', '-c', 'sleep 1000 & sleep 1000 & wait']);
  t.equal(sb.runts(['run', '--detach', '--bundle', sb.bundle(config), 'all']).status, 0);
  const pid = sb.state('all').pid;
  await until(() => childPids(pid).length === 2);
  const children = childPids(pid);
  t.equal(sb.runts(['kill', '--all', 'all', 'KILL']).status, 0);
  t.ok(await until(() => !alive(pid) && children.every((c) => !alive(c))), 'every process of the container got the signal');
});

t.test('what engines send: signal 0, kill --all of a stopped container, delete --force of none', async (t) => {
  const sb = new Sandbox(t);
  t.equal(sb.runts(['run', '--detach', '--bundle', sb.bundle(baseConfig(rootfs, ['sleep', '1000'])), 'probe']).status, 0);
  const pid = sb.state('probe').pid;
  for (const args of [['kill', 'probe', '0'], ['kill', '--all', 'probe', '0']]) {
    const r = sb.runts(args);
    t.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
  }
  t.ok(alive(pid), 'signal 0 is only a probe');
  t.equal(sb.runts(['kill', 'probe', 'KILL']).status, 0);
  t.ok(await until(() => sb.state('probe').status === 'stopped'));
  const all = sb.runts(['kill', '--all', 'probe', 'KILL']);
  t.same([all.status, all.stderr], [0, ''], 'kill --all of a stopped container succeeds, as with runc');
  const one = sb.runts(['kill', 'probe', '0']);
  t.same([one.status, one.stderr.trim()], [1, 'container not running'], 'kill of its init still fails');
  t.equal(sb.runts(['delete', 'probe']).status, 0);
  const none = sb.runts(['delete', '--force', 'probe']);
  t.same([none.status, none.stdout, none.stderr], [0, '', ''], 'delete --force of a container that does not exist is silent');
  t.equal(sb.runts(['delete', 'probe']).status, 1, 'without --force it is an error');
});

t.test('delete --force kills and removes everything; nothing is left', async (t) => {
  const sb = new Sandbox(t);
  const config = baseConfig(rootfs, ['sleep', '1000']);
  t.equal(sb.runts(['run', '--detach', '--bundle', sb.bundle(config), 'f1']).status, 0);
  const pid = sb.state('f1').pid;
  const nsMnt = statSync(`/proc/${pid}/ns/mnt`).ino;
  t.equal(sb.runts(['delete', '--force', 'f1']).status, 0);
  t.notOk(alive(pid), 'no process');
  t.notOk(existsSync(join(sb.root, 'f1')), 'no state dir');
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8');
  t.notMatch(mounts, rootfs, 'no mount of the rootfs on the host');
  t.ok(nsMnt > 0);
});

t.test('run: exit codes and pid file', async (t) => {
  const sb = new Sandbox(t);
  const r = sb.runts(['run', '--bundle', sb.bundle(baseConfig(rootfs, ['sh', '-c', 'exit 3'])), 'e1']);
  t.equal(r.status, 3, 'the container\'s exit code');
  t.notOk(existsSync(join(sb.root, 'e1')), 'run deletes the container');
  // Without a pid namespace of its own, the shell is not an init the kernel shields from SIGKILL.
  const selfKill = baseConfig(rootfs, ['sh', '-c', 'kill -9 $$']);
  selfKill.linux.namespaces = selfKill.linux.namespaces.filter((n: { type: string }) => n.type !== 'pid');
  const killed = sb.runts(['run', '--bundle', sb.bundle(selfKill), 'e2']);
  t.equal(killed.status, 137, '128 + SIGKILL');
  const pidFile = join(sb.dir, 'pid');
  t.equal(sb.runts(['create', '--pid-file', pidFile, '--bundle', sb.bundle(baseConfig(rootfs, ['true'])), 'p1']).status, 0);
  t.equal(Number(readFileSync(pidFile, 'utf8')), sb.state('p1').pid, 'pid file holds the init pid');
  const kept = sb.runts(['run', '--keep', '--bundle', sb.bundle(baseConfig(rootfs, ['true'])), 'kept']);
  t.equal(kept.status, 0);
  t.equal(sb.state('kept').status, 'stopped', '--keep leaves a stopped container');
});

t.test('a failing create leaves nothing behind', async (t) => {
  const sb = new Sandbox(t);
  const config = baseConfig(rootfs, ['true']);
  config.mounts.push({ destination: '/mnt', type: 'nosuchfs', source: 'none' });
  const before = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').length;
  const r = sb.runts(['create', '--bundle', sb.bundle(config), 'bad']);
  t.equal(r.status, 1);
  t.match(r.stderr, /config\.json: mounts\[7\]: mount nosuchfs none on \/mnt: ENODEV/, 'one clear error naming the config path and errno');
  t.notOk(existsSync(join(sb.root, 'bad')), 'no state dir');
  t.equal(readFileSync('/proc/self/mountinfo', 'utf8').split('\n').length, before, 'no mount');
  const missing = sb.runts(['create', '--bundle', sb.bundle(baseConfig(rootfs, ['nosuchcmd'])), 'nocmd']);
  t.equal(missing.status, 1);
  t.match(missing.stderr, 'exec: "nosuchcmd": executable file not found in $PATH');
  t.notOk(existsSync(join(sb.root, 'nocmd')));
});

t.test('editing config.json after create changes nothing', async (t) => {
  const sb = new Sandbox(t);
  const config = baseConfig(rootfs, ['sh', '-c', 'echo first']);
  const bundle = sb.bundle(config);
  t.equal(sb.runts(['create', '--bundle', bundle, 'cfg']).status, 0);
  config.process.args = ['sh', '-c', 'echo second'];
  config.hostname = 'changed';
  const { writeFileSync } = await import('node:fs');
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(config));
  const pid = sb.state('cfg').pid;
  t.equal(sb.runts(['start', 'cfg']).status, 0);
  t.ok(await until(() => sb.state('cfg').status === 'stopped'));
  t.ok(pid > 0);
});
