import t from 'tap';
import { createServer, type Socket } from 'node:net';
import { createReadStream, existsSync, readlinkSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { RUNTS, Sandbox, baseConfig, sharedRootfs, until } from '../helpers/containers.js';
import { receiveMaster } from '../../src/linux/console.js';

/** process.terminal: a pty of the container's devpts as stdio, its master sent out. */

const rootfs = sharedRootfs(t);

function terminalConfig(script: string): any {
  const c = baseConfig(rootfs, ['sh', '-c', script]);
  c.process.terminal = true;
  c.process.consoleSize = { height: 33, width: 101 };
  return c;
}

t.test('run in the foreground relays the pty: tty, size, /dev/console, input', async (t) => {
  const sb = new Sandbox(t);
  const script = 'tty; stty size; stat -c %t:%T /dev/console; readlink /proc/self/fd/1; echo "in: $(head -c 5)"';
  const r = spawnSync(RUNTS, ['--root', sb.root, 'run', '--bundle', sb.bundle(terminalConfig(script)), 'tty1'], {
    input: 'hello\n', encoding: 'utf8', timeout: 30_000, killSignal: 'SIGKILL',
  });
  t.equal(r.status, 0, r.stderr);
  // the pty echoes the input wherever it arrives among the output; the process's own lines stay in order
  const lines = r.stdout.split('\r\n').filter((l) => l !== 'hello');
  t.equal(lines[0], '/dev/pts/0', 'stdin is the first pty of the container\'s own devpts');
  t.equal(lines[1], '33 101', 'process.consoleSize');
  t.equal(lines[2], '88:0', '/dev/console is that pty (136:0)');
  t.equal(lines[3], '/dev/pts/0', 'stdout too');
  t.ok(lines.includes('in: hello'), 'runts\' stdin reaches the process');
});

t.test('create --console-socket sends the master; the process writes to it after start', async (t) => {
  const sb = new Sandbox(t);
  const path = join(sb.dir, 'console.sock');
  // pauseOnConnect: Node must not read the socket, or the fd would be lost to it
  const connected = new Promise<Socket>((resolve) => {
    const server = createServer({ pauseOnConnect: true }, resolve);
    server.listen(path);
    t.teardown(() => server.close());
  });
  const created = sb.runts(['create', '--console-socket', path, '--bundle', sb.bundle(terminalConfig('tty; echo done; sleep 1000')), 'tty2']);
  t.equal(created.status, 0, created.stderr);
  const socket = await connected;
  const master = receiveMaster((socket as any)._handle.fd);
  socket.destroy();
  const pid = sb.state('tty2').pid as number;
  t.equal(readlinkSync(`/proc/${pid}/fd/0`), '/dev/pts/0', 'the waiting init already has the pty as stdin');
  t.equal(sb.runts(['start', 'tty2']).status, 0);
  const stream = createReadStream('', { fd: master });
  let out = '';
  stream.on('data', (d) => (out += d));
  stream.on('error', () => {});
  t.ok(await until(() => out.includes('done'), 15_000), 'output arrives');
  stream.destroy();
  t.equal(out, '/dev/pts/0\r\ndone\r\n', 'the process\'s output arrives through the master');
});

t.test('terminal and console socket mistakes are clear errors that leave nothing', async (t) => {
  const sb = new Sandbox(t);
  const cases: [string[], any, string][] = [
    [[], terminalConfig('true'), 'config.json: process.terminal: cannot allocate tty if runts will detach without setting console socket'],
    [['--console-socket', join(sb.dir, 'x.sock')], baseConfig(rootfs, ['true']), 'cannot use console socket if runts will not detach or allocate tty'],
    [['--console-socket', join(sb.dir, 'missing.sock')], terminalConfig('true'), `connect to console socket ${join(sb.dir, 'missing.sock')}: ENOENT: no such file or directory`],
  ];
  for (const [flags, config, message] of cases) {
    const r = sb.runts(['create', ...flags, '--bundle', sb.bundle(config), 'ttybad']);
    t.equal(r.status, 1);
    t.equal(r.stderr.trim(), message);
    t.notOk(existsSync(join(sb.root, 'ttybad')), 'no state dir');
  }
});

t.test('exec --tty: a pty of its own, relayed by runts', async (t) => {
  const sb = new Sandbox(t);
  t.equal(sb.runts(['run', '--detach', '--bundle', sb.bundle(baseConfig(rootfs, ['sleep', '1000'])), 'tty3']).status, 0);
  const r = spawnSync(RUNTS, ['--root', sb.root, 'exec', '--tty', 'tty3', 'sh', '-c', 'tty; echo "in: $(head -c 3)"'], {
    input: 'abc\n', encoding: 'utf8', timeout: 30_000, killSignal: 'SIGKILL',
  });
  t.equal(r.status, 0, r.stderr);
  // the pty echoes the input wherever it arrives among the output
  t.match(r.stdout.replace('abc\r\n', ''), /^\/dev\/pts\/\d+\r\n/, 'a pty of the container\'s devpts');
  t.match(r.stdout, /in: abc\r\n/, 'input reaches it');
  t.equal(sb.runts(['exec', '--tty', '--detach', 'tty3', 'true']).stderr.trim(),
    'config.json: process.terminal: cannot allocate tty if runts will detach without setting console socket');
});

t.test('the pty of a process that is not root is its user\'s, in the group devpts gives', async (t) => {
  const sb = new Sandbox(t);
  const config = terminalConfig('stat -c %u:%g $(tty)');
  config.process.user = { uid: 1000, gid: 1001 };
  config.mounts.find((m: any) => m.type === 'devpts').options.push('gid=5');
  const r = spawnSync(RUNTS, ['--root', sb.root, 'run', '--bundle', sb.bundle(config), 'ttyuser'], {
    input: '', encoding: 'utf8', timeout: 30_000, killSignal: 'SIGKILL',
  });
  t.equal(r.status, 0, r.stderr);
  t.equal(r.stdout, '1000:5\r\n', 'run: the process\'s uid, the tty group');

  t.equal(sb.runts(['run', '--detach', '--bundle', sb.bundle(baseConfig(rootfs, ['sleep', '1000'])), 'ttyexec']).status, 0);
  const exec = spawnSync(RUNTS, ['--root', sb.root, 'exec', '--tty', '--user', '1234:4321', 'ttyexec', 'sh', '-c', 'stat -c %u:%g $(tty)'], {
    input: '', encoding: 'utf8', timeout: 30_000, killSignal: 'SIGKILL',
  });
  t.equal(exec.status, 0, exec.stderr);
  t.equal(exec.stdout, '1234:0\r\n', 'exec --tty: the process\'s uid, the group of a devpts without gid=');
});
