import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, closeSync, copyFileSync, existsSync, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, Sandbox, baseConfig, childPids, sharedRootfs, until } from '../helpers/containers.js';
import { initPid } from './helpers.js';

/** CVE-2019-5736: the runtime's executable, as a container could reach it (docs/security.md). */

const rootfs = sharedRootfs(t);

t.test('CVE-2019-5736: the runtime\'s executable cannot be opened for writing from inside', async (t) => {
  // runts runs from a private copy of node here, so that once runts has exited no process
  // executes that file and a write would succeed if nothing else prevented it.
  const sb = new Sandbox(t);
  const node = join(sb.dir, 'node');
  copyFileSync(process.execPath, node);
  chmodSync(node, 0o755);
  const env: NodeJS.ProcessEnv = { ...process.env, RUNTS_CALLER_FDS: '0' };
  delete env.NODE_OPTIONS;
  delete env.NODE_EXTRA_CA_CERTS;
  const runts = (args: string[]) => {
    const out = join(sb.dir, `probe-out-${args[0]}`);
    const fd = openSync(out, 'w');
    try {
      const r = spawnSync(node, [join(REPO_ROOT, 'dist', 'bundle', 'main.cjs'), '--root', sb.root, ...args], {
        env, stdio: ['ignore', fd, fd], timeout: 30_000,
      });
      return { status: r.status, output: readFileSync(out, 'utf8') };
    } finally {
      closeSync(fd);
    }
  };
  const config = baseConfig(rootfs, ['sleep', '1000']);
  const created = runts(['create', '--bundle', sb.bundle(config), 'exe']);
  t.equal(created.status, 0, created.output);
  const init = initPid(sb, 'exe');
  t.equal(statSync(`/proc/${init}/exe`).ino, statSync(node).ino, 'the created container\'s init runs the runtime\'s node');
  // With CAP_SYS_PTRACE a process in the container may open its init's executable: it keeps
  // the fd, waits for the init to exec and runts to exit, then reopens it for writing.
  const probe = [
    'exec 3</proc/1/exe',
    'stat -L -c %i /proc/self/fd/3 > /tmp/inode',
    'sleep 3',
    'if (exec 4<>/proc/self/fd/3) 2>/tmp/error; then echo WRITABLE > /tmp/result; else echo refused > /tmp/result; fi',
    'sleep 100',
  ].join('; ');
  const processJson = join(sb.dir, 'probe.json');
  const caps = ['CAP_SYS_PTRACE'];
  writeFileSync(processJson, JSON.stringify({
    args: ['sh', '-c', probe], cwd: '/', env: ['PATH=/bin'], user: { uid: 0, gid: 0 },
    capabilities: { bounding: caps, effective: caps, permitted: caps },
  }));
  const exec = runts(['exec', '--detach', '--process', processJson, 'exe']);
  t.equal(exec.status, 0, exec.output);
  t.ok(await until(() => existsSync(`/proc/${init}/root/tmp/inode`)), 'the probe opened /proc/1/exe');
  t.equal(runts(['start', 'exe']).status, 0);
  t.ok(await until(() => existsSync(`/proc/${init}/root/tmp/result`), 15_000), 'the probe tried to write');
  const inside = Number(readFileSync(`/proc/${init}/root/tmp/inode`, 'utf8'));
  // the decoy: the container holds the runtime's very executable, which is writable on the host
  t.equal(inside, statSync(node).ino, 'the container reached the runtime\'s executable');
  const hostWrite = openSync(node, 'r+');
  closeSync(hostWrite);
  t.pass('the same file opens for writing on the host: only the read-only clone stops the container');
  t.equal(readFileSync(`/proc/${init}/root/tmp/result`, 'utf8').trim(), 'refused', 'no write through the container\'s handle');
  t.match(readFileSync(`/proc/${init}/root/tmp/error`, 'utf8'), /Read-only file system/);
  t.equal(runts(['delete', '--force', 'exe']).status, 0);
});

t.test('the processes of create, run and exec run node from a read-only file', async (t) => {
  const sb = new Sandbox(t);
  t.equal(sb.runts(['create', '--bundle', sb.bundle(baseConfig(rootfs, ['sleep', '1000'])), 'ro']).status, 0);
  const init = initPid(sb, 'ro');
  const flags = spawnSync('python3', ['-c', `import os; print(os.statvfs('/proc/${init}/exe').f_flag & os.ST_RDONLY)`], { encoding: 'utf8' });
  t.equal(flags.stdout.trim(), '1', 'the init\'s executable is on a read-only mount');
  const own = spawnSync('python3', ['-c', `import os; print(os.statvfs('${process.execPath}').f_flag & os.ST_RDONLY)`], { encoding: 'utf8' });
  t.equal(own.stdout.trim(), '0', 'decoy: node itself is on a writable mount');
  // while `exec` waits for its process, the process it forked the setup from is that runts
  t.equal(sb.runts(['start', 'ro']).status, 0);
  const exec = spawn(join(REPO_ROOT, 'bin', 'runts'), ['--root', sb.root, 'exec', 'ro', 'sleep', '2'], { stdio: 'ignore' });
  t.teardown(() => exec.kill('SIGKILL'));
  // runts exec forks its setup process only after the re-exec: with a child, its exe is final
  t.ok(await until(() => childPids(exec.pid!).length > 0), 'runts exec runs and forks');
  const execFlags = spawnSync('python3', ['-c', `import os; print(os.statvfs('/proc/${exec.pid}/exe').f_flag & os.ST_RDONLY)`], { encoding: 'utf8' });
  t.equal(execFlags.stdout.trim(), '1', 'runts exec runs node from a read-only mount');
  await new Promise((resolve) => exec.on('exit', resolve));
});

t.test('the created init shows nothing of the runtime\'s command line or environment', async (t) => {
  const sb = new Sandbox(t);
  t.equal(sb.runts(['create', '--bundle', sb.bundle(baseConfig(rootfs, ['sleep', '1000'])), 'args']).status, 0);
  const init = initPid(sb, 'args');
  // the decoy: the runtime's own command line names its --root, readable by anyone
  t.match(readFileSync('/proc/self/cmdline', 'latin1'), /\S/, 'a process\'s cmdline is there to read');
  t.equal(readFileSync(`/proc/${init}/cmdline`, 'latin1').replace(/\0/g, ''), '', 'cmdline: empty');
  t.equal(readFileSync(`/proc/${init}/environ`, 'latin1').replace(/\0/g, ''), '', 'environ: empty');
});
