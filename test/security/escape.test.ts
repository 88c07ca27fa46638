import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync, copyFileSync, existsSync, mkdirSync, openSync, closeSync, readFileSync, readdirSync, readlinkSync, statSync, symlinkSync, writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, Sandbox, baseConfig, sharedRootfs, until } from '../helpers/containers.js';

/**
 * Attacks from inside containers, one per class of escape runc and crun have had as a CVE.
 * Each test first shows that the attack reaches something of the host (its decoy: the
 * escape would work on a runtime without the defence), then that runts refuses it.
 * docs/security.md explains each defence.
 */

const rootfs = sharedRootfs(t);

function initPid(sb: Sandbox, id: string): number {
  return sb.state(id).pid;
}

/** The fds a process holds, with what they point to. */
function fdsOf(pid: number): Map<number, string> {
  const fds = new Map<number, string>();
  for (const n of readdirSync(`/proc/${pid}/fd`)) {
    try {
      fds.set(Number(n), readlinkSync(`/proc/${pid}/fd/${n}`));
    } catch {
      // closed meanwhile
    }
  }
  return fds;
}

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
      const r = spawnSync(node, [join(REPO_ROOT, 'dist', 'bundle', 'main.js'), '--root', sb.root, ...args], {
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
  t.ok(await until(() => readFileSync(`/proc/${exec.pid}/cmdline`, 'latin1').includes('main.js')), 'runts exec runs');
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

t.test('CVE-2024-21626: process.cwd and exec --cwd through /proc/*/fd never reach a host directory', async (t) => {
  const sb = new Sandbox(t);
  t.equal(sb.runts(['create', '--bundle', sb.bundle(baseConfig(rootfs, ['sleep', '1000'])), 'cwd']).status, 0);
  const init = initPid(sb, 'cwd');
  const held = fdsOf(init);
  // the decoy: while `created`, the init holds fds of the host, among them a directory
  const hostDirs = [...held].filter(([, target]) => target.startsWith('/') && existsSync(target) && statSync(target).isDirectory());
  t.ok(hostDirs.length > 0, `the init holds a host directory open (${hostDirs.map(([n, p]) => `${n} -> ${p}`).join(', ')})`);
  const highest = Math.max(...held.keys(), 10) + 4;
  for (let n = 3; n <= highest; n++) {
    const r = sb.runts(['exec', '--cwd', `/proc/1/fd/${n}`, 'cwd', 'pwd']);
    t.equal(r.status, 1, `exec --cwd /proc/1/fd/${n} is refused`);
    t.notMatch(r.stdout, /\//, 'no working directory printed');
    const self = sb.runts(['exec', '--cwd', `/proc/self/fd/${n}`, 'cwd', 'pwd']);
    t.equal(self.status, 1, `exec --cwd /proc/self/fd/${n} is refused`);
  }
  for (let n = 3; n <= highest; n++) {
    const config = baseConfig(rootfs, ['pwd']);
    config.process.cwd = `/proc/self/fd/${n}`;
    const r = sb.runts(['run', '--bundle', sb.bundle(config), `cwd${n}`]);
    t.equal(r.status, 1, `process.cwd /proc/self/fd/${n} is refused`);
    t.match(r.stderr, new RegExp(`process\\.cwd: (create|change to) working directory /proc/self/fd/${n}: `));
    t.notOk(existsSync(join(sb.root, `cwd${n}`)), 'nothing left');
  }
  t.equal(sb.runts(['delete', '--force', 'cwd']).status, 0);
});

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

t.test('CVE-2025-31133: a /dev/null swapped for a symlink during create is never bound', async (t) => {
  const sb = new Sandbox(t);
  // A /dev that another party can change while runts works: a bind of a host directory,
  // as a second container sharing the volume could change it.
  const dev = join(sb.dir, 'dev');
  mkdirSync(dev);
  t.equal(spawnSync('mknod', [join(dev, '.device'), 'c', '1', '3']).status, 0);
  chmodSync(join(dev, '.device'), 0o666);
  writeFileSync(join(dev, 'leak'), 'LEAKED\n');
  symlinkSync('leak', join(dev, '.link'));
  writeFileSync(join(rootfs, 'secret'), 'SECRET\n');

  // Flips dev/null between the null device and a symlink to dev/leak, as fast as it can.
  const racer = spawn(process.execPath, ['-e', `
    const fs = require('fs'), d = ${JSON.stringify(dev)};
    for (;;) {
      fs.linkSync(d + '/.device', d + '/.a'); fs.renameSync(d + '/.a', d + '/null');
      fs.linkSync(d + '/.link', d + '/.b'); fs.renameSync(d + '/.b', d + '/null');
    }`], { stdio: 'ignore' });
  t.teardown(() => {
    racer.kill('SIGKILL');
  });
  t.ok(await until(() => existsSync(join(dev, 'null'))));

  // the decoy: a bind mount that resolves the path when it mounts is won by the racer
  const target = join(sb.dir, 'target');
  writeFileSync(target, '');
  const naive = spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c',
    `for i in $(seq 200); do mount --bind ${dev}/null ${target} 2>/dev/null && { cat ${target}; umount ${target}; }; done`], {
    encoding: 'utf8', timeout: 60_000,
  });
  t.match(naive.stdout, /LEAKED/, 'binding /dev/null by path mounts the racer\'s file');

  let masked = 0;
  let refused = 0;
  let leaked = 0;
  for (let i = 0; i < 200; i++) {
    const config = baseConfig(rootfs, ['cat', '/secret']);
    config.mounts = config.mounts.filter((m: any) => !m.destination.startsWith('/dev'));
    config.mounts.push({ destination: '/dev', type: 'bind', source: dev, options: ['rbind', 'rw'] });
    config.linux.maskedPaths = ['/secret'];
    const r = sb.runts(['run', '--bundle', sb.bundle(config), `race${i}`]);
    if (r.stdout !== '') leaked++;
    else if (r.status === 0) masked++;
    else {
      refused++;
      if (!/\/dev\/null/.test(r.stderr)) t.fail(`an unexplained failure: ${r.stderr}`);
    }
    if (existsSync(join(sb.root, `race${i}`))) t.fail(`race${i} left its state`);
  }
  racer.kill('SIGKILL');
  t.equal(leaked, 0, `200 creates under the race: ${masked} masked, ${refused} refused, ${leaked} read anything`);
  t.ok(masked > 0, 'the defence still masks when /dev/null is the device');
});

t.test('the host\'s /dev/null keeps its owner and mode after user-namespace, non-root and tty containers', async (t) => {
  const sb = new Sandbox(t);
  const before = statSync('/dev/null');
  const userns = baseConfig(rootfs, ['sh', '-c', 'cat /dev/null; echo x > /dev/null']);
  userns.linux.namespaces.push({ type: 'user' });
  userns.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  userns.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  const nonRoot = baseConfig(rootfs, ['sh', '-c', 'echo x > /dev/null; cat /dev/stdin']);
  nonRoot.process.user = { uid: 1000, gid: 1000 };
  const both = baseConfig(rootfs, ['sh', '-c', 'echo x > /dev/null']);
  both.process.user = { uid: 1000, gid: 1000 };
  both.linux.namespaces.push({ type: 'user' });
  both.linux.uidMappings = userns.linux.uidMappings;
  both.linux.gidMappings = userns.linux.gidMappings;
  for (const [name, config] of [['userns', userns], ['nonroot', nonRoot], ['both', both]] as const) {
    // stdin is the host's /dev/null, as for a detached engine container
    const r = spawnSync(join(REPO_ROOT, 'bin', 'runts'), ['--root', sb.root, 'run', '--bundle', sb.bundle(config), name], {
      stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', timeout: 30_000,
    });
    t.equal(r.status, 0, `${name}: ${r.stderr}`);
    const after = statSync('/dev/null');
    t.same([after.uid, after.gid, after.mode & 0o7777], [before.uid, before.gid, 0o666], `${name}: /dev/null is root:root 666`);
  }
  const tty = baseConfig(rootfs, ['sh', '-c', 'echo x > /dev/null; tty']);
  tty.process.terminal = true;
  tty.process.user = { uid: 1000, gid: 1000 };
  const r = spawnSync(join(REPO_ROOT, 'bin', 'runts'), ['--root', sb.root, 'run', '--bundle', sb.bundle(tty), 'tty'], {
    stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', timeout: 30_000,
  });
  t.equal(r.status, 0, r.stderr);
  const after = statSync('/dev/null');
  t.same([after.uid, after.gid, after.mode & 0o7777], [before.uid, before.gid, 0o666], 'tty: /dev/null is root:root 666');
});
