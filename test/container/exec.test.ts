import t from 'tap';
import { readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Sandbox, baseConfig, sharedRootfs, until } from '../helpers/containers.js';

const rootfs = sharedRootfs(t);

function nsOf(pid: number, type: string): string {
  return readlinkSync(`/proc/${pid}/ns/${type}`);
}

t.test('exec: a process in every namespace of the container, with the flags applied', async (t) => {
  const sb = new Sandbox(t);
  const config = baseConfig(rootfs, ['sleep', '1000']);
  config.linux.namespaces.push({ type: 'user' });
  config.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  config.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  t.equal(sb.runts(['run', '--detach', '--bundle', sb.bundle(config), 'x1']).status, 0);
  const init = sb.state('x1').pid;
  const pidFile = join(sb.dir, 'exec.pid');
  const r = sb.runts(['exec', '--pid-file', pidFile, '-d', 'x1', 'sleep', '1000']);
  t.equal(r.status, 0, r.stderr);
  const pid = Number(readFileSync(pidFile, 'utf8'));
  for (const ns of ['pid', 'net', 'ipc', 'uts', 'mnt', 'user', 'cgroup']) {
    t.equal(nsOf(pid, ns), nsOf(init, ns), `same ${ns} namespace as the init`);
  }
  t.match(readFileSync(`/proc/${pid}/status`, 'utf8'), /NSpid:\s+\d+\s+2\n/, 'pid 2 inside');
  t.match(readFileSync(`/proc/${pid}/status`, 'utf8'), /Uid:\s+100000\s/, 'root of the user namespace is host uid 100000');

  const out = sb.runts(['exec', '-u', '1000:1001', '-g', '7', '--cwd', '/tmp', '-e', 'FOO=bar baz', 'x1', 'sh', '-c', 'pwd; id -u; id -g; id -G; echo "$FOO"; exit 5']);
  t.equal(out.status, 5, 'the exit code of the process');
  t.same(out.stdout.trim().split('\n'), ['/tmp', '1000', '1001', '1001 7', 'bar baz']);

  const missing = sb.runts(['exec', 'x1', 'nosuchcmd']);
  t.equal(missing.status, 1);
  t.match(missing.stderr, 'exec: "nosuchcmd": executable file not found in $PATH');

  const proc = join(sb.dir, 'process.json');
  writeFileSync(proc, JSON.stringify({ args: ['sh', '-c', 'echo from-process-json; echo $X'], cwd: '/', env: ['X=1'], user: { uid: 0, gid: 0 } }));
  const pj = sb.runts(['exec', '-p', proc, 'x1']);
  t.equal(pj.status, 0, pj.stderr);
  t.equal(pj.stdout, 'from-process-json\n1\n', '--process');

  t.equal(sb.runts(['kill', 'x1', 'KILL']).status, 0);
  t.ok(await until(() => sb.state('x1').status === 'stopped'));
  const stopped = sb.runts(['exec', 'x1', 'true']);
  t.equal(stopped.status, 1);
  t.match(stopped.stderr, 'cannot exec in a stopped container');
});

t.test('exec --no-new-privs sets no_new_privs for a container whose process has it off', async (t) => {
  const sb = new Sandbox(t);
  const config = baseConfig(rootfs, ['sleep', '1000']);
  config.process.noNewPrivileges = false;
  t.equal(sb.runts(['run', '--detach', '--bundle', sb.bundle(config), 'nnp']).status, 0);
  const nnp = (args: string[]) => sb.runts(['exec', ...args, 'nnp', 'grep', '^NoNewPrivs:', '/proc/self/status']).stdout.trim();
  t.match(nnp([]), /^NoNewPrivs:\s+0$/, 'as the container\'s process, without the flag');
  t.match(nnp(['--no-new-privs']), /^NoNewPrivs:\s+1$/, 'with --no-new-privs');
  t.equal(sb.runts(['delete', '--force', 'nnp']).status, 0);
});
