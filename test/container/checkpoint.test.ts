import t, { type Test } from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { RUNTS, Sandbox, baseConfig, sharedRootfs, sleep, until } from '../helpers/containers.js';
import { criuBinary, criuLogError, dumpArgs, restoreArgs, ttyKey } from '../../src/linux/criu.js';
import { receiveMaster } from '../../src/linux/console.js';

/**
 * checkpoint and restore through CRIU. What CRIU can do depends on the kernel: where
 * `criu check` passes, a container is checkpointed and restored and goes on counting;
 * where it does not, both commands must fail with one line naming CRIU's own message and
 * leave everything as it was. Failures that do not depend on the kernel are tested on both.
 */

const criu = criuBinary();
const skip = criu ? false : 'criu is not installed (apt-get install criu)';
const check = criu ? spawnSync(criu, ['check'], { encoding: 'utf8' }) : undefined;
const criuWorks = check?.status === 0;
const rootfs = criu ? sharedRootfs(t) : '';

/** A shell counting into /tmp/count (a tmpfs of the container's), its stdio the container's /dev/null. */
const COUNTER = 'exec </dev/null >/dev/null 2>&1; i=0; while true; do i=$((i+1)); echo $i > /tmp/count; sleep 0.05; done';

/** The counter, with a host directory bound on /data: an external mount to CRIU. */
function counterBundle(sb: Sandbox): { bundle: string; cgroupsPath: string } {
  const config = baseConfig(rootfs, ['sh', '-c', COUNTER]);
  const data = join(sb.dir, 'data');
  mkdirSync(data, { recursive: true });
  writeFileSync(join(data, 'hello'), 'from the host\n');
  config.mounts.push({ destination: '/data', type: 'bind', source: data, options: ['rbind', 'ro'] });
  const bundle = sb.bundle(config);
  return { bundle, cgroupsPath: config.linux.cgroupsPath };
}

const count = (pid: number) => Number(readFileSync(`/proc/${pid}/root/tmp/count`, 'utf8'));
const stateFile = (sb: Sandbox, id: string) => JSON.parse(readFileSync(join(sb.root, id, 'state.json'), 'utf8'));
/** The container's cgroup in the v1 memory hierarchy or cgroup2, whichever this host has. */
const cgroupDir = (path: string) => [`/sys/fs/cgroup/memory${path}`, `/sys/fs/cgroup${path}`].find((d) => existsSync(d));
const mountedCriuRoots = () => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes('/criu-root '));
/** CRIU's first error in a log, as it wrote it. */
const firstError = (log: string) => /Error \([^)]*\):\s*(.*)$/m.exec(readFileSync(log, 'utf8'))?.[1].trim();

async function running(sb: Sandbox, t: Test, id: string, bundle: string): Promise<number> {
  const r = sb.runts(['run', '--detach', '--bundle', bundle, id]);
  t.equal(r.status, 0, r.stderr);
  const pid = sb.state(id).pid as number;
  t.ok(await until(() => existsSync(`/proc/${pid}/root/tmp/count`)), 'the counter counts');
  return pid;
}

t.test('checkpoint and restore: the restored container goes on counting', { skip: skip || (criuWorks ? false : `criu check fails on this kernel: ${(check?.stderr ?? '').trim().split('\n')[0]}`) }, async (t) => {
  const sb = new Sandbox(t);
  const { bundle, cgroupsPath } = counterBundle(sb);
  const pid = await running(sb, t, 'ck', bundle);
  await sleep(200);
  const images = join(sb.dir, 'images');
  const work = join(sb.dir, 'work');

  const dumped = sb.runts(['checkpoint', '--image-path', images, '--work-path', work, 'ck']);
  t.equal(dumped.status, 0, dumped.stderr);
  t.ok(existsSync(join(images, 'inventory.img')), 'criu wrote the images');
  t.ok(existsSync(join(work, 'dump.log')), 'and its log to the work path');
  t.notOk(existsSync(`/proc/${pid}`), 'the checkpointed init is gone');
  t.match(sb.runts(['state', 'ck']).stderr, /container does not exist: ck/, 'and so is the container');
  t.equal(cgroupDir(cgroupsPath), undefined, 'and its cgroup');

  const pidFile = join(sb.dir, 'restored.pid');
  const restored = sb.runts(['restore', '--detach', '--image-path', images, '--work-path', work, '--bundle', bundle, '--pid-file', pidFile, 'ck']);
  t.equal(restored.status, 0, restored.stderr);
  const state = sb.state('ck');
  t.equal(state.status, 'running');
  t.equal(stateFile(sb, 'ck').pid, state.pid, 'state.json holds the restored init');
  t.equal(Number(readFileSync(pidFile, 'utf8')), state.pid, '--pid-file too');
  t.match(readFileSync(`/proc/${state.pid}/cmdline`, 'latin1'), /^sh\0-c\0/, '/proc shows the restored shell');
  t.ok(cgroupDir(cgroupsPath), 'the restored container has its cgroup');
  t.equal(readFileSync(`/proc/${state.pid}/root/data/hello`, 'utf8'), 'from the host\n', 'and its bind mount');
  const after = count(state.pid);
  t.ok(await until(() => count(state.pid) > after + 2), `the counter goes on from ${after}`);

  t.equal(sb.runts(['kill', 'ck', 'KILL']).status, 0, 'kill works on it');
  t.ok(await until(() => sb.state('ck').status === 'stopped'));
  t.equal(sb.runts(['delete', 'ck']).status, 0, 'delete works on it');
  t.equal(cgroupDir(cgroupsPath), undefined, 'nothing left');
});

t.test('checkpoint --leave-running keeps the container; restore refuses its id', { skip: skip || (criuWorks ? false : 'criu check fails on this kernel') }, async (t) => {
  const sb = new Sandbox(t);
  const { bundle } = counterBundle(sb);
  const pid = await running(sb, t, 'lr', bundle);
  const images = join(sb.dir, 'images');
  const r = sb.runts(['checkpoint', '--leave-running', '--image-path', images, 'lr']);
  t.equal(r.status, 0, r.stderr);
  t.ok(existsSync(join(images, 'inventory.img')));
  t.same([sb.state('lr').status, sb.state('lr').pid], ['running', pid], 'the same init runs on');
  const before = count(pid);
  t.ok(await until(() => count(pid) > before), 'and counts');
  const again = sb.runts(['restore', '--detach', '--image-path', images, '--bundle', bundle, 'lr']);
  t.same([again.status, again.stderr.trim()], [1, 'container with id exists: lr']);
});

t.test('a joined network namespace stays the host\'s: the restored container joins it again', { skip: skip || (criuWorks ? false : 'criu check fails on this kernel') }, async (t) => {
  const sb = new Sandbox(t);
  const name = `runts-ck-${process.pid}`;
  t.equal(spawnSync('ip', ['netns', 'add', name]).status, 0, 'ip netns add');
  t.teardown(() => {
    spawnSync('ip', ['netns', 'delete', name]);
  });
  const config = baseConfig(rootfs, ['sh', '-c', COUNTER]);
  config.linux.namespaces = config.linux.namespaces.map((n: any) => (n.type === 'network' ? { type: 'network', path: `/run/netns/${name}` } : n));
  const bundle = sb.bundle(config);
  await running(sb, t, 'nn', bundle);
  const images = join(sb.dir, 'images');
  const dumped = sb.runts(['checkpoint', '--image-path', images, 'nn']);
  t.equal(dumped.status, 0, dumped.stderr);
  const restored = sb.runts(['restore', '--detach', '--image-path', images, '--bundle', bundle, 'nn']);
  t.equal(restored.status, 0, restored.stderr);
  const pid = sb.state('nn').pid as number;
  t.equal(statSync(`/proc/${pid}/ns/net`).ino, statSync(`/run/netns/${name}`).ino, 'the restored init is in the named namespace');
});

t.test('restore in the foreground: the restored init is runts\' child, its end ends runts, the container is deleted', { skip: skip || (criuWorks ? false : 'criu check fails on this kernel') }, async (t) => {
  const sb = new Sandbox(t);
  const { bundle } = counterBundle(sb);
  await running(sb, t, 'fg', bundle);
  const images = join(sb.dir, 'images');
  const dumped = sb.runts(['checkpoint', '--image-path', images, 'fg']);
  t.equal(dumped.status, 0, dumped.stderr);
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  delete env.NODE_EXTRA_CA_CERTS;
  const runts = spawn(RUNTS, ['--root', sb.root, 'restore', '--image-path', images, '--bundle', bundle, 'fg'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  runts.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((r) => runts.on('exit', (code) => r(code)));
  t.teardown(() => {
    runts.kill('SIGKILL');
  });
  const restored = () => existsSync(join(sb.root, 'fg', 'state.json')) && sb.state('fg').status === 'running';
  t.ok(await until(restored, 120_000), `restored: ${stderr}`);
  const pid = sb.state('fg').pid as number;
  const ppid = Number(/^PPid:\s*(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
  t.equal(ppid, runts.pid, 'the restored init is a child of runts');
  t.equal(sb.runts(['kill', 'fg', 'KILL']).status, 0);
  t.equal(await exited, 137, 'runts exits with the init\'s status');
  t.notOk(existsSync(join(sb.root, 'fg')), 'and has deleted the container');
});

/** A console socket that takes one pty master. */
function consoleSocket(t: Test, path: string): Promise<number> {
  return new Promise((resolve) => {
    // pauseOnConnect: Node must not read the socket, or the fd would be lost to it
    const server = createServer({ pauseOnConnect: true }, (socket) => {
      resolve(receiveMaster((socket as any)._handle.fd));
      socket.destroy();
    });
    server.listen(path);
    t.teardown(() => server.close());
  });
}

/** What arrives on a pty master, as it arrives. */
function output(t: Test, master: number): () => string {
  let out = '';
  const stream = createReadStream('', { fd: master });
  stream.on('data', (d) => (out += d));
  stream.on('error', () => {});
  t.teardown(() => stream.destroy());
  return () => out;
}

/** The controlling terminal of a process (stat's tty_nr) and the device of its stdin. */
function terminalOf(pid: number): { ctty: number; stdin: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const ctty = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[4]);
  const st = statSync(`/proc/${pid}/fd/0`);
  return { ctty, stdin: st.rdev };
}

t.test('a container with a terminal: checkpointed, restored with a new console socket, it answers on the new master', { skip: skip || (criuWorks ? false : 'criu check fails on this kernel') }, async (t) => {
  const sb = new Sandbox(t);
  const config = baseConfig(rootfs, ['sh', '-c', 'while read line; do echo "got: $line"; done']);
  config.process.terminal = true;
  const bundle = sb.bundle(config);
  const first = consoleSocket(t, join(sb.dir, 'first.sock'));
  const created = sb.runts(['create', '--console-socket', join(sb.dir, 'first.sock'), '--bundle', bundle, 'tt']);
  t.equal(created.status, 0, created.stderr);
  t.equal(sb.runts(['start', 'tt']).status, 0);
  const master1 = await first;
  const before = output(t, master1);
  writeSync(master1, 'one\n');
  t.ok(await until(() => before().includes('got: one')), `the process answers before: ${JSON.stringify(before())}`);

  const images = join(sb.dir, 'images');
  const dumped = sb.runts(['checkpoint', '--image-path', images, 'tt']);
  t.equal(dumped.status, 0, dumped.stderr);
  t.match(readFileSync(join(images, 'tty.info'), 'utf8'), /^tty\[[0-9a-f]+:[0-9a-f]+\]$/, 'the terminal is recorded as external');
  t.match(sb.runts(['state', 'tt']).stderr, /container does not exist: tt/, 'the container is gone');

  const second = consoleSocket(t, join(sb.dir, 'second.sock'));
  const restored = sb.runts(['restore', '--detach', '--console-socket', join(sb.dir, 'second.sock'), '--image-path', images, '--bundle', bundle, 'tt']);
  t.equal(restored.status, 0, restored.stderr);
  if (restored.status !== 0) return;
  const master2 = await second;
  const pid = sb.state('tt').pid as number;
  const { ctty, stdin } = terminalOf(pid);
  t.ok(ctty !== 0 && ctty === stdin, `the restored init's controlling terminal is its stdin (${ctty}, ${stdin})`);
  const after = output(t, master2);
  writeSync(master2, 'two\n');
  t.ok(await until(() => after().includes('got: two')), `the restored process answers on the new master: ${JSON.stringify(after())}`);

  t.equal(sb.runts(['kill', 'tt', 'KILL']).status, 0);
  t.ok(await until(() => sb.state('tt').status === 'stopped'));
  t.equal(sb.runts(['delete', 'tt']).status, 0);
});

/**
 * A hook that keeps what it was given and what it saw: the state on its stdin, the pid
 * namespace and command line of the process the state names.
 */
function recordingHook(dir: string, name: string): any {
  const script = `s=$(cat); echo "$s" > ${dir}/${name}.json; pid=$(echo "$s" | sed -n 's/.*"pid":\\([0-9]*\\).*/\\1/p'); `
    + `readlink /proc/$pid/ns/pid > ${dir}/${name}.pidns; tr '\\0' ' ' < /proc/$pid/cmdline > ${dir}/${name}.cmdline`;
  return { path: '/bin/sh', args: ['sh', '-c', script], env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'] };
}

t.test('restore runs the prestart and createRuntime hooks once criu has made the namespaces, with the restored init in the state', { skip: skip || (criuWorks ? false : 'criu check fails on this kernel') }, async (t) => {
  const sb = new Sandbox(t);
  const seen = join(sb.dir, 'seen');
  mkdirSync(seen);
  const config = baseConfig(rootfs, ['sh', '-c', COUNTER]);
  config.hooks = { prestart: [recordingHook(seen, 'prestart')], createRuntime: [recordingHook(seen, 'createRuntime')] };
  const bundle = sb.bundle(config);
  await running(sb, t, 'hk', bundle);
  const images = join(sb.dir, 'images');
  const dumped = sb.runts(['checkpoint', '--image-path', images, 'hk']);
  t.equal(dumped.status, 0, dumped.stderr);
  rmSync(seen, { recursive: true });
  mkdirSync(seen);

  const restored = sb.runts(['restore', '--detach', '--image-path', images, '--bundle', bundle, 'hk']);
  t.equal(restored.status, 0, restored.stderr);
  if (restored.status !== 0) return;
  const pid = sb.state('hk').pid as number;
  for (const name of ['prestart', 'createRuntime']) {
    const state = JSON.parse(readFileSync(join(seen, `${name}.json`), 'utf8'));
    t.same(state, { ociVersion: config.ociVersion, id: 'hk', status: 'creating', pid, bundle }, `${name}: the state on stdin names the restored init`);
    t.equal(readFileSync(join(seen, `${name}.pidns`), 'utf8'), `${readlinkSync(`/proc/${pid}/ns/pid`)}\n`, `${name}: it is in the restored pid namespace already`);
    t.notMatch(readFileSync(join(seen, `${name}.cmdline`), 'utf8'), /^sh -c /, `${name}: it does not run the container's program yet`);
  }
  t.notOk(readdirSync(join(sb.root, 'hk')).some((f) => f.startsWith('criu-')), 'criu\'s action script and fifos are gone');
  const after = count(pid);
  t.ok(await until(() => count(pid) > after), 'the restored container counts');
});

t.test('a failing prestart hook fails the restore with its own error and leaves nothing', { skip: skip || (criuWorks ? false : 'criu check fails on this kernel') }, async (t) => {
  const sb = new Sandbox(t);
  const { bundle, cgroupsPath } = counterBundle(sb);
  await running(sb, t, 'hf', bundle);
  const images = join(sb.dir, 'images');
  const dumped = sb.runts(['checkpoint', '--image-path', images, 'hf']);
  t.equal(dumped.status, 0, dumped.stderr);
  const config = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
  const stopped = join(sb.dir, 'poststop');
  config.hooks = {
    prestart: [{ path: '/bin/sh', args: ['sh', '-c', 'echo no >&2; exit 3'] }],
    poststop: [{ path: '/bin/sh', args: ['sh', '-c', `cat > ${stopped}`] }],
  };
  const failing = sb.bundle(config);
  const r = sb.runts(['restore', '--detach', '--image-path', images, '--bundle', failing, 'hf']);
  t.equal(r.status, 1);
  t.equal(r.stderr.trim(), 'config.json: hooks.prestart[0]: prestart hook 0 (/bin/sh) failed: exit status 3: no', 'the hook\'s failure, not criu\'s');
  t.equal(JSON.parse(readFileSync(stopped, 'utf8')).status, 'stopped', 'the poststop hooks ran');
  t.notOk(existsSync(join(sb.root, 'hf')), 'no state directory');
  t.equal(cgroupDir(cgroupsPath), undefined, 'no cgroup');
  t.same(mountedCriuRoots(), [], 'no rootfs left bound for criu');
  t.notOk(spawnSync('pgrep', ['-f', 'while true; do i=']).stdout.length, 'no restored process');
});

t.test('checkpoint on a kernel CRIU cannot work with: one line with CRIU\'s message, the container runs on', { skip: skip || (criuWorks ? 'criu check passes here' : false) }, async (t) => {
  const sb = new Sandbox(t);
  const { bundle } = counterBundle(sb);
  const pid = await running(sb, t, 'nk', bundle);
  const images = join(sb.dir, 'images');
  const r = sb.runts(['checkpoint', '--image-path', images, 'nk']);
  const log = join(images, 'dump.log');
  t.equal(r.status, 1);
  const lines = r.stderr.trim().split('\n');
  t.equal(lines.length, 1, `one line: ${r.stderr}`);
  const first = firstError(log);
  t.ok(first, 'criu logged an error');
  t.ok(lines[0].startsWith('checkpoint: criu failed (exit status 1): ') && lines[0].includes(first!), `it names CRIU's message "${first}"`);
  t.ok(lines[0].endsWith(`(log: ${log})`), 'and where the log is');
  t.same([sb.state('nk').status, sb.state('nk').pid], ['running', pid], 'the container runs on');
  const before = count(pid);
  t.ok(await until(() => count(pid) > before), 'and counts');

  t.test('restore: the same one line, from restore.log', async (t) => {
    writeFileSync(join(images, 'inventory.img'), '');
    const rr = sb.runts(['restore', '--detach', '--image-path', images, '--bundle', counterBundle(sb).bundle, 'nk2']);
    t.equal(rr.status, 1);
    const restoreLog = join(images, 'restore.log');
    t.equal(rr.stderr.trim().split('\n').length, 1, rr.stderr);
    t.ok(rr.stderr.includes(firstError(restoreLog)!) && rr.stderr.trim().endsWith(`(log: ${restoreLog})`), rr.stderr);
  });
});

t.test('a failed dump leaves the container as it was', { skip }, async (t) => {
  const sb = new Sandbox(t);
  const { bundle, cgroupsPath } = counterBundle(sb);
  const pid = await running(sb, t, 'fd', bundle);
  // no page server listens there: criu fails whether or not it can dump on this kernel
  const r = sb.runts(['checkpoint', '--page-server', '127.0.0.1:1', '--image-path', join(sb.dir, 'images'), 'fd']);
  t.equal(r.status, 1);
  t.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  t.match(r.stderr.trim(), /^checkpoint: criu failed \(exit status \d+\): .+ \(log: .*\/dump\.log\)$/);
  t.same([sb.state('fd').status, sb.state('fd').pid], ['running', pid], 'the same init runs on');
  t.ok(cgroupDir(cgroupsPath), 'in its cgroup');
  const before = count(pid);
  t.ok(await until(() => count(pid) > before), 'counting');
  t.equal(readFileSync(`/proc/${pid}/status`, 'utf8').match(/^State:\s*(\S)/m)?.[1] !== 'T', true, 'not left stopped');
});

t.test('a failed restore leaves nothing: no state, cgroup, mount or process', { skip }, async (t) => {
  const sb = new Sandbox(t);
  const { bundle, cgroupsPath } = counterBundle(sb);
  const images = join(sb.dir, 'images');
  mkdirSync(images);
  // not an image criu can read
  writeFileSync(join(images, 'inventory.img'), 'garbage');
  const children = () => spawnSync('pgrep', ['-P', String(process.pid)], { encoding: 'utf8' }).stdout.trim();
  const before = children();
  const r = sb.runts(['restore', '--detach', '--image-path', images, '--bundle', bundle, 'fr']);
  t.equal(r.status, 1);
  t.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  const log = join(images, 'restore.log');
  t.ok(r.stderr.startsWith('restore: criu failed (exit status 1): ') && r.stderr.includes(firstError(log)!), `CRIU's message: ${r.stderr}`);
  t.ok(r.stderr.trim().endsWith(`(log: ${log})`));
  t.notOk(existsSync(join(sb.root, 'fr')), 'no state directory');
  t.equal(cgroupDir(cgroupsPath), undefined, 'no cgroup');
  t.same(mountedCriuRoots(), [], 'no rootfs left bound for criu');
  t.equal(children(), before, 'no process');
  t.equal(sb.runts(['list', '--quiet']).stdout.trim(), '', 'list shows nothing');
});

t.test('restore refuses what it cannot use, before it makes anything', { skip }, async (t) => {
  const sb = new Sandbox(t);
  const { bundle } = counterBundle(sb);
  const pid = await running(sb, t, 'ex', bundle);
  const images = join(sb.dir, 'images');
  mkdirSync(images);
  writeFileSync(join(images, 'inventory.img'), '');

  const exists = sb.runts(['restore', '--detach', '--image-path', images, '--bundle', bundle, 'ex']);
  t.same([exists.status, exists.stderr.trim()], [1, 'container with id exists: ex'], 'an id in use');
  t.same([sb.state('ex').status, sb.state('ex').pid], ['running', pid], 'which runs on untouched');

  const missing = join(sb.dir, 'nowhere');
  const none = sb.runts(['restore', '--detach', '--image-path', missing, '--bundle', bundle, 'n1']);
  t.same([none.status, none.stderr.trim()], [1, `image path ${missing}: no such directory`]);
  const empty = join(sb.dir, 'empty');
  mkdirSync(empty);
  const noImages = sb.runts(['restore', '--detach', '--image-path', empty, '--bundle', bundle, 'n2']);
  t.same([noImages.status, noImages.stderr.trim()], [1, `image path ${empty} holds no checkpoint (no inventory.img)`]);
  const file = join(sb.dir, 'file');
  writeFileSync(file, '');
  const notDir = sb.runts(['restore', '--detach', '--image-path', file, '--bundle', bundle, 'n3']);
  t.same([notDir.status, notDir.stderr.trim()], [1, `image path ${file}: not a directory`]);

  const tty = baseConfig(rootfs, ['sh']);
  tty.process.terminal = true;
  const ttyBundle = sb.bundle(tty);
  const noSocket = sb.runts(['restore', '--detach', '--image-path', images, '--bundle', ttyBundle, 'n4']);
  t.same([noSocket.status, noSocket.stderr.trim()], [1, 'config.json: process.terminal: cannot allocate tty if runts will detach without setting console socket']);
  const noTty = sb.runts(['restore', '--detach', '--console-socket', join(sb.dir, 'c.sock'), '--image-path', images, '--bundle', ttyBundle, 'n4']);
  t.same([noTty.status, noTty.stderr.trim()], [1, `config.json: process.terminal: the checkpoint in ${images} is of a container without a terminal`]);
  writeFileSync(join(images, 'tty.info'), 'tty[8800:1a]');
  const withTty = sb.runts(['restore', '--detach', '--image-path', images, '--bundle', bundle, 'n4']);
  t.same([withTty.status, withTty.stderr.trim()], [1, `config.json: process.terminal: the checkpoint in ${images} is of a container with a terminal`]);
  const socketNoTty = sb.runts(['restore', '--detach', '--console-socket', join(sb.dir, 'c.sock'), '--image-path', images, '--bundle', bundle, 'n4']);
  t.same([socketNoTty.status, socketNoTty.stderr.trim()], [1, 'cannot use console socket if runts will not detach or allocate tty']);
  const ns = sb.runts(['restore', '--detach', '--empty-ns', 'ipc', '--image-path', images, '--bundle', bundle, 'n5']);
  t.same([ns.status, ns.stderr.trim()], [1, '--empty-ns: namespace "ipc" is not supported: only network is']);
  t.same(sb.runts(['list', '--quiet']).stdout.trim().split('\n'), ['ex'], 'no container was made');
});

t.test('checkpoint refuses what it cannot use', { skip }, async (t) => {
  const sb = new Sandbox(t);
  const none = sb.runts(['checkpoint', '--image-path', join(sb.dir, 'i'), 'nope']);
  t.same([none.status, none.stderr.trim()], [1, 'container does not exist: nope']);
  const mode = sb.runts(['checkpoint', '--manage-cgroups-mode', 'bogus', 'nope']);
  t.equal(mode.status, 1);
  t.match(mode.stderr, /--manage-cgroups-mode <mode>' argument 'bogus' is invalid/);
  const server = sb.runts(['checkpoint', '--page-server', 'nowhere', 'nope']);
  t.same([server.status, server.stderr.trim()], [1, '--page-server: expected ADDRESS:PORT, got "nowhere"']);

  const config = baseConfig(rootfs, ['sleep', '1000']);
  t.equal(sb.runts(['create', '--bundle', sb.bundle(config), 'cr']).status, 0);
  const created = sb.runts(['checkpoint', '--image-path', join(sb.dir, 'i'), 'cr']);
  t.same([created.status, created.stderr.trim()], [1, 'cannot checkpoint container cr that is created']);
});

t.test('features and check say what criu can do here', { skip }, async (t) => {
  const sb = new Sandbox(t);
  const features = JSON.parse(sb.runts(['features']).stdout);
  t.equal(features.annotations['io.github.runts.checkpoint.enabled'], 'true', 'criu is installed: checkpoint is enabled');
  const r = sb.runts(['check', '--bundle', sb.bundle(baseConfig(rootfs, ['true']))]);
  const line = r.stdout.split('\n').find((l) => l.includes('criu check'));
  if (criuWorks) t.equal(line, 'ok: criu check passes: checkpoint and restore can be used');
  else t.match(line, /^warning: checkpoint and restore cannot work here: criu check: .+/);
});

t.test('criu\'s arguments and its log, without criu', async (t) => {
  const log = [
    '(00.01) vdso: Parsing at 7fb2',
    '(00.02) Error (criu/vdso.c:381): vdso: Unexpected rt vDSO area bounds',
    '(00.03) Error (criu/kerndat.c:1615): kerndat_vdso_fill_symtable failed when initializing kerndat.',
    '(00.04) Found mmap_min_addr 0x10000',
    '(00.05) Error (criu/crtools.c:260): Could not initialize kernel features detection.',
    '',
  ].join('\n');
  t.equal(criuLogError(log), 'vdso: Unexpected rt vDSO area bounds; Could not initialize kernel features detection.', 'the cause, then what failed');
  t.equal(criuLogError('(00.02) Error (criu/cr-dump.c:1): one\n'), 'one');
  t.equal(criuLogError('(00.01) all went well\n'), undefined);

  const dump = dumpArgs({ pid: 42, rootfs: '/b/rootfs', imagePath: '/i', workPath: '/w', external: ['/data', '/proc/kcore'], statusFd: 7, parentPath: '../pre' });
  t.same(dump.slice(0, 3), ['dump', '--tree', '42']);
  t.same(dump.filter((a, i) => dump[i - 1] === '--ext-mount-map'), ['/data:/data', '/proc/kcore:/proc/kcore'], 'external mounts keyed by their mount points');
  const after = (flag: string) => dump[dump.indexOf(flag) + 1];
  t.same([after('--status-fd'), after('--prev-images-dir'), dump.includes('--manage-cgroups=soft')], ['3', '../pre', true], 'status fd as criu\'s fd 3; soft cgroups by default');
  t.ok(dump.includes('--track-mem'), 'a parent means memory tracking');
  const joined = dumpArgs({ pid: 1, rootfs: '/r', imagePath: '/i', workPath: '/w', external: [], joinedNetNs: 4026532000 });
  t.equal(joined[joined.indexOf('--external') + 1], 'net[4026532000]:extRootNetNS', 'a joined network namespace is external');
  const tty = dumpArgs({ pid: 1, rootfs: '/r', imagePath: '/i', workPath: '/w', external: [], tty: ttyKey(0x8800, 0x1a) });
  t.equal(tty[tty.indexOf('--external') + 1], 'tty[8800:1a]', 'a terminal is external, named by its rdev and dev in hex');
  const pre = dumpArgs({ pid: 1, rootfs: '/r', imagePath: '/i', workPath: '/w', external: [], preDump: true, manageCgroupsMode: 'ignore' });
  t.same([pre[0], pre.includes('--manage-cgroups=ignore'), pre[pre.indexOf('--log-file') + 1]], ['pre-dump', true, 'pre-dump.log']);

  const restore = restoreArgs({ root: '/s/criu-root', pidFile: '/s/criu.pid', imagePath: '/i', workPath: '/w', external: [{ destination: '/data', source: '/host/data' }], inheritFds: [{ fd: 3, key: 'pipe:[123]' }] });
  t.same(restore.filter((a, i) => ['--ext-mount-map', '--inherit-fd', '--root'].includes(restore[i - 1] ?? '')), ['/s/criu-root', '/data:/host/data', 'fd[3]:pipe:[123]']);
  t.ok(restore.includes('--restore-sibling') && restore.includes('--restore-detached'), 'the restored init is a child of runts, criu exits');
});
