import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { RUNTS, Sandbox, baseConfig, sharedRootfs } from '../helpers/containers.js';
import { readCgroupHost } from '../../src/linux/cgroups/host.js';

/** exec --cgroup: a process put in a sub-cgroup of the container's, as runc does it. */

const rootfs = sharedRootfs(t);
const host = readCgroupHost();

/** The container's cgroup in each hierarchy, as create recorded it. */
function cgroupDirs(sb: Sandbox, id: string): string[] {
  return JSON.parse(readFileSync(join(sb.root, id, 'state.json'), 'utf8')).cgroups.paths;
}

/** "hierarchy-id:controllers:path" lines of /proc/<pid>/cgroup, as [controllers, path]. */
function lines(text: string): [string, string][] {
  return text.trim().split('\n').map((l) => {
    const [, controllers, path] = /^\d+:([^:]*):(.*)$/.exec(l)!;
    return [controllers, path];
  });
}

/** Makes the sub-cgroup `name` of `dir`; a new v1 cpuset has no cpus or nodes until given its parent's. */
function makeSub(dir: string, name: string): void {
  const sub = join(dir, name);
  mkdirSync(sub);
  for (const file of ['cpuset.cpus', 'cpuset.mems']) {
    if (hierarchyOf(dir).version === 1 && existsSync(join(dir, file))) writeFileSync(join(sub, file), readFileSync(join(dir, file)));
  }
}

function hierarchyOf(dir: string) {
  return host.hierarchies.find((h) => dir === h.mountPoint || dir.startsWith(`${h.mountPoint}/`))!;
}

/** A detached exec (its stdio not pipes, or spawnSync would wait for it); returns its pid. */
function execDetached(sb: Sandbox, id: string, args: string[]): number {
  const pidFile = join(sb.dir, `exec-${Math.random()}.pid`);
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  delete env.NODE_EXTRA_CA_CERTS;
  const r = spawnSync(RUNTS, ['--root', sb.root, 'exec', '--detach', '--pid-file', pidFile, ...args, id, 'sleep', '1000'], { env, stdio: 'ignore', timeout: 30_000 });
  if (r.status !== 0) throw new Error(`exec --detach failed: ${r.status}`);
  return Number(readFileSync(pidFile, 'utf8'));
}

t.test('--cgroup PATH: the sub-cgroup in every hierarchy, seen inside and outside', async (t) => {
  const sb = new Sandbox(t);
  t.equal(sb.runts(['run', '--detach', '--bundle', sb.bundle(baseConfig(rootfs, ['sleep', '1000'])), 'c']).status, 0);
  const dirs = cgroupDirs(sb, 'c');
  t.ok(dirs.length > 0, 'the container has cgroups');
  for (const d of dirs) makeSub(d, 'sub');

  const inside = sb.runts(['exec', '--cgroup', 'sub', 'c', 'cat', '/proc/self/cgroup']);
  t.equal(inside.status, 0, inside.stderr);
  const seen = lines(inside.stdout).filter(([c]) => c !== '' || host.hierarchies.some((h) => h.version === 2));
  t.ok(seen.length >= dirs.length, 'a line per hierarchy');
  t.ok(seen.filter(([c]) => dirs.some((d) => hierarchyOf(d).version === 2 ? c === '' : hierarchyOf(d).controllers.join(',') === c))
    .every(([, path]) => path === '/sub'), `in the container's cgroup namespace, every cgroup is /sub: ${inside.stdout}`);

  const pid = execDetached(sb, 'c', ['--cgroup', 'sub']);
  for (const d of dirs) {
    t.ok(readFileSync(join(d, 'sub', 'cgroup.procs'), 'utf8').split('\n').includes(String(pid)), `the process is in ${d}/sub`);
  }
  t.equal(sb.runts(['delete', '--force', 'c']).status, 0);
  t.notOk(dirs.some((d) => existsSync(d)), 'delete removed the container\'s cgroups with their sub-cgroups');
});

t.test('--cgroup CTRL:PATH: only that controller\'s hierarchy', { skip: host.hierarchies.some((h) => h.version === 1 && h.controllers.includes('memory')) ? false : 'no v1 memory hierarchy' }, async (t) => {
  const sb = new Sandbox(t);
  t.equal(sb.runts(['run', '--detach', '--bundle', sb.bundle(baseConfig(rootfs, ['sleep', '1000'])), 'm']).status, 0);
  const dirs = cgroupDirs(sb, 'm');
  const memory = dirs.find((d) => hierarchyOf(d).controllers.includes('memory'))!;
  makeSub(memory, 'mem');
  const pid = execDetached(sb, 'm', ['--cgroup', 'memory:mem']);
  const own = lines(readFileSync(`/proc/${pid}/cgroup`, 'utf8'));
  const init = lines(readFileSync(`/proc/${sb.state('m').pid}/cgroup`, 'utf8'));
  for (const [controllers, path] of own) {
    const initPath = init.find(([c]) => c === controllers)![1];
    if (controllers.split(',').includes('memory')) t.equal(path, posix.join(initPath, 'mem'), 'memory: the sub-cgroup');
    else t.equal(path, initPath, `${controllers || 'cgroup2'}: the container's own`);
  }
});

t.test('a --cgroup that is malformed, missing or leads out of the container\'s cgroup fails and starts nothing', async (t) => {
  const sb = new Sandbox(t);
  t.equal(sb.runts(['run', '--detach', '--bundle', sb.bundle(baseConfig(rootfs, ['sleep', '1000'])), 'e']).status, 0);
  const dirs = cgroupDirs(sb, 'e');
  for (const d of dirs) makeSub(d, 'sub');
  const cases: [string[], RegExp][] = [
    [['--cgroup', '..'], /invalid --cgroup argument: \.\. \(a sub-cgroup path must not contain "\.\."\)$/],
    [['--cgroup', 'sub/../../..'], /invalid --cgroup argument: sub\/\.\.\/\.\.\/\.\. \(a sub-cgroup path must not contain "\.\."\)$/],
    [['--cgroup', 'memory:../x'], /must not contain "\.\."/],
    [['--cgroup', '/'], /invalid --cgroup argument: \/ \(no sub-cgroup path\)$/],
    [['--cgroup', 'nosuch'], /--cgroup: the sub-cgroup .*\/nosuch does not exist$/],
    [['--cgroup', 'nosuchctrl:sub'], /--cgroup: the container has no cgroup with the controller nosuchctrl$/],
    [['--cgroup', 'a:b:c'], /invalid --cgroup argument: a:b:c$/],
    [['--cgroup', 'sub', '--cgroup', 'pids:sub'], /invalid --cgroup argument: sub \(missing <controller>: prefix\)$/],
  ];
  for (const [flags, message] of cases) {
    const r = sb.runts(['exec', ...flags, 'e', 'touch', '/tmp/ran']);
    t.equal(r.status, 1, flags.join(' '));
    t.match(r.stderr.trim(), message, flags.join(' '));
  }
  const check = sb.runts(['exec', 'e', 'sh', '-c', 'test -e /tmp/ran && echo ran || echo none']);
  t.equal(check.stdout.trim(), 'none', 'no process ran');
  t.same(dirs.map((d) => readFileSync(join(d, 'sub', 'cgroup.procs'), 'utf8')), dirs.map(() => ''), 'nothing joined a sub-cgroup');
});
