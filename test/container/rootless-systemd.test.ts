import t from 'tap';
import { spawnSync } from 'node:child_process';
import { chmodSync, closeSync, existsSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { REPO_ROOT, RUNTS, until } from '../helpers/containers.js';

/**
 * Rootless --systemd-cgroup against a real systemd user manager, as rootless Podman uses
 * it: a user made for this test, lingering so that its user@<uid>.service runs, drives
 * runts with --systemd-cgroup; the scope must be the user manager's, in its delegated
 * cgroup2 subtree, with the limits. Runs where systemd is PID 1 on cgroup v2 (the test
 * VM); elsewhere it says why it skips.
 */

const tools = ['/usr/sbin/useradd', '/usr/sbin/runuser', '/usr/bin/newuidmap', '/usr/bin/loginctl', '/usr/bin/systemctl'];
const skip = !existsSync('/run/systemd/system') ? 'systemd is not PID 1 on this host (test/vm/ runs this file on one where it is)'
  : !existsSync('/sys/fs/cgroup/cgroup.controllers') ? 'not a cgroup v2 host: systemd delegates no v1 cgroups to a user'
    : !tools.every((p) => existsSync(p)) ? `needs ${tools.join(', ')}` : false;

const NAME = `runts-sd-${process.pid}`;
const SUB_START = 600000;
const SUB_COUNT = 65536;

function sh(cmd: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

function dropLines(file: string, prefix: string): void {
  if (!existsSync(file)) return;
  writeFileSync(file, readFileSync(file, 'utf8').split('\n').filter((l) => !l.startsWith(prefix)).join('\n'));
}

t.test('rootless --systemd-cgroup with the user manager', { skip }, async (t) => {
  const add = sh('useradd', ['--create-home', '--shell', '/bin/sh', NAME]);
  t.equal(add.status, 0, `useradd ${NAME} ${add.stderr}`);
  const uid = Number(sh('id', ['-u', NAME]).stdout.trim());
  const home = `/home/${NAME}`;
  const xdg = `/run/user/${uid}`;
  const out = join(home, 'out');
  const bundle = join(home, 'b');
  const manager = `/user.slice/user-${uid}.slice/user@${uid}.service`;
  const ids = ['c1', 'bad', 'nb'];
  for (const f of ['/etc/subuid', '/etc/subgid']) writeFileSync(f, `${NAME}:${SUB_START}:${SUB_COUNT}\n`, { flag: 'a' });

  const env = (extra: string[] = [`XDG_RUNTIME_DIR=${xdg}`]) => ['env', '-i', `HOME=${home}`, `USER=${NAME}`, 'PATH=/usr/bin:/bin:/usr/sbin:/sbin', ...extra];
  /**
   * runts as the user, from the test's own cgroup (outside the user's tree) or, `inUser`,
   * from a scope of the user's manager as rootless Podman runs it; output through a file
   * (a created container keeps stdio).
   */
  const runts = (args: string[], o: { inUser?: boolean; env?: string[] } = {}) => {
    const fd = openSync(out, 'w');
    const argv = ['-u', NAME, '--', ...env(o.env), ...(o.inUser ? ['systemd-run', '--user', '--scope', '--quiet'] : []), RUNTS, ...args];
    const r = spawnSync('runuser', argv, { cwd: bundle, stdio: ['ignore', fd, fd], timeout: 120_000 });
    closeSync(fd);
    return { status: r.status, out: readFileSync(out, 'utf8') };
  };
  const systemctl = (...args: string[]) => sh('systemctl', ['--user', '-M', `${NAME}@`, ...args]).stdout.trim();
  const show = (unit: string, p: string) => systemctl('show', unit, '-p', p, '--value');
  const gone = (unit: string) => !['active', 'activating', 'deactivating', 'failed'].includes(systemctl('is-active', unit));
  const read = (f: string) => readFileSync(f, 'utf8').trim();

  // the user must reach bin/runts: a checkout under /root (the VM's) is opened to it, for the test only
  const closed: [string, number][] = [];
  for (let d = REPO_ROOT.replace(/\/$/, ''); d !== '/'; d = dirname(d)) {
    const mode = statSync(d).mode & 0o7777;
    if (!(mode & 0o001)) closed.push([d, mode]);
  }
  for (const [d, mode] of closed) chmodSync(d, mode | 0o001);

  t.teardown(() => {
    for (const id of ids) runts(['delete', '--force', id]);
    // whatever a failed test left in the user's manager
    for (const line of systemctl('list-units', '--all', '--no-legend', '--plain', 'runts-*', `${NAME}*`).split('\n')) {
      const unit = line.split(/\s+/)[0];
      if (unit) systemctl('stop', unit);
    }
    sh('loginctl', ['disable-linger', NAME]);
    sh('loginctl', ['terminate-user', NAME]);
    sh('userdel', ['--remove', NAME]);
    rmSync(home, { recursive: true, force: true });
    for (const f of ['/etc/subuid', '/etc/subgid']) dropLines(f, `${NAME}:`);
    for (const [d, mode] of closed) chmodSync(d, mode);
  });

  // a lingering user has its manager and its user bus without logging in
  t.equal(sh('loginctl', ['enable-linger', NAME]).status, 0, 'loginctl enable-linger');
  t.ok(await until(() => sh('systemctl', ['is-active', `user@${uid}.service`]).stdout.trim() === 'active' && existsSync(`${xdg}/bus`), 120_000),
    `user@${uid}.service is active, with ${xdg}/bus`);
  const build = spawnSync('runuser', ['-u', NAME, '--', join(REPO_ROOT, 'bundles', 'busybox', 'build-rootfs.sh'), join(bundle, 'rootfs')], { encoding: 'utf8' });
  t.equal(build.status, 0, `a rootfs the user owns ${build.stderr}`);
  const made = runts(['spec', '--rootless']);
  if (made.status !== 0) return t.fail(`runts spec --rootless: ${made.out}`);
  const spec = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
  const config = (args: string[], edit: (c: any) => void = () => {}) => {
    const c = structuredClone(spec);
    c.process.terminal = false;
    c.process.args = args;
    edit(c);
    writeFileSync(join(bundle, 'config.json'), JSON.stringify(c));
  };

  t.test('check: the user manager is reachable', async (t) => {
    config(['true']);
    const c = runts(['--systemd-cgroup', 'check']);
    t.equal(c.status, 0, c.out);
    t.match(c.out, new RegExp(`^ok: systemd's user manager \\(systemd \\d+\\) reachable: --systemd-cgroup can be used, its scopes go below ${manager}$`, 'm'));
  });

  t.test('create, start, exec, update, kill --all, delete: a scope of the user manager with the limits', async (t) => {
    config(['sleep', '600'], (c) => {
      c.linux.resources = { memory: { limit: 64 << 20 }, pids: { limit: 20 } };
    });
    const unit = 'runts-c1.scope';
    const cgroup = `${manager}/user.slice/${unit}`;
    const dir = `/sys/fs/cgroup${cgroup}`;
    const c = runts(['--systemd-cgroup', 'create', 'c1'], { inUser: true });
    t.equal(c.status, 0, c.out);
    t.equal(show(unit, 'ActiveState'), 'active', 'the scope is active in the user manager');
    t.equal(show(unit, 'ControlGroup'), cgroup, 'runc\'s default user.slice:runts:<id>, below the manager\'s cgroup');
    t.equal(show(unit, 'Delegate'), 'yes');
    t.equal(show(unit, 'MemoryMax'), String(64 << 20), 'MemoryMax is a unit property');
    t.equal(show(unit, 'TasksMax'), '20');
    const state = JSON.parse(readFileSync(join(xdg, 'runts', 'c1', 'state.json'), 'utf8'));
    t.same(state.cgroups.systemd, { slice: 'user.slice', unit, path: cgroup, manager: 'user' }, 'the state names the user manager');
    t.equal(read(`/proc/${state.pid}/cgroup`), `0::${cgroup}`, 'the init is in the scope');
    t.equal(read(`${dir}/memory.max`), String(64 << 20));
    t.equal(read(`${dir}/pids.max`), '20');
    t.equal(runts(['start', 'c1']).status, 0, 'start');
    // inside, a cgroup namespace rooted at the scope, whose files show the limits
    const e = runts(['exec', 'c1', 'sh', '-c', 'cat /proc/self/cgroup /sys/fs/cgroup/pids.max'], { inUser: true });
    t.equal(e.status, 0, e.out);
    t.same(e.out.trim().split('\n'), ['0::/', '20'], 'exec from the user\'s tree joins the scope');
    // from outside the user's tree the kernel lets no process of the user's move in: runc's rootless exec goes on without
    const o = runts(['exec', 'c1', 'echo', 'outside']);
    t.equal(o.status, 0, o.out);
    t.match(o.out, /^outside$/m);
    const u = runts(['update', '--memory', String(32 << 20), '--pids-limit', '7', 'c1']);
    t.equal(u.status, 0, u.out);
    t.equal(show(unit, 'TasksMax'), '7', 'update sets the unit properties');
    t.equal(show(unit, 'MemoryMax'), String(32 << 20));
    t.equal(read(`${dir}/pids.max`), '7', 'and the files');
    t.equal(read(`${dir}/memory.max`), String(32 << 20));
    // the user manager re-applies its properties on daemon-reload: the limits must survive it
    systemctl('daemon-reload');
    t.equal(read(`${dir}/memory.max`), String(32 << 20), 'daemon-reload keeps the updated limit');
    const k = runts(['kill', '--all', 'c1', 'KILL']);
    t.equal(k.status, 0, k.out);
    // an empty scope ends: the user manager may remove it before delete does
    t.ok(await until(() => !existsSync(dir) || read(`${dir}/cgroup.procs`) === '', 10_000), 'kill --all empties the scope');
    const d = runts(['delete', 'c1']);
    t.equal(d.status, 0, d.out);
    t.ok(await until(() => gone(unit), 10_000), 'delete stops the unit');
    t.notOk(existsSync(dir), 'its cgroup is gone');
    t.notOk(existsSync(join(xdg, 'runts', 'c1')), 'and the state');
  });

  t.test('a create that fails after the scope exists leaves no unit and no cgroup', async (t) => {
    config(['true'], (c) => {
      c.linux.cgroupsPath = `user.slice:${NAME}:bad`;
      c.mounts.push({ destination: '/data', type: 'bind', source: '/nonexistent/source', options: ['rbind'] });
    });
    const unit = `${NAME}-bad.scope`;
    const r = runts(['--systemd-cgroup', 'create', 'bad'], { inUser: true });
    t.equal(r.status, 1);
    t.match(r.out, /mounts\[\d+\]/);
    t.ok(gone(unit), 'no unit');
    t.notOk(existsSync(`/sys/fs/cgroup${manager}/user.slice/${unit}`), 'no cgroup');
    t.notOk(existsSync(join(xdg, 'runts', 'bad')), 'no state');
  });

  t.test('without a user bus: one line naming what was tried', async (t) => {
    config(['true']);
    const root = join(home, 'state');
    const a = runts(['--root', root, '--systemd-cgroup', 'create', 'nb'], { env: [`XDG_RUNTIME_DIR=${home}/none`] });
    t.equal(a.status, 1);
    t.equal(a.out, `cannot reach systemd's user manager (rootless --systemd-cgroup): connect to the user bus at unix:path=${home}/none/bus: ENOENT: no such file or directory\n`);
    const b = runts(['--root', root, '--systemd-cgroup', 'create', 'nb'], { env: [] });
    t.equal(b.status, 1);
    t.equal(b.out, "cannot reach systemd's user manager (rootless --systemd-cgroup): connect to the user bus: neither DBUS_SESSION_BUS_ADDRESS nor XDG_RUNTIME_DIR is set\n");
    t.notOk(existsSync(join(root, 'nb')), 'no state');
  });

  const podman = existsSync('/usr/bin/podman');
  t.test('rootless Podman with its systemd cgroup manager, runts as its runtime', { skip: !podman && 'no podman' }, async (t) => {
    const p = (args: string) => {
      const fd = openSync(out, 'w');
      const r = spawnSync('runuser', ['-u', NAME, '--', ...env(), 'sh', '-c', `podman --runtime ${RUNTS} ${args}`], { cwd: home, stdio: ['ignore', fd, fd], timeout: 300_000 });
      closeSync(fd);
      return { status: r.status, out: readFileSync(out, 'utf8').trim() };
    };
    t.teardown(() => {
      p('rm -f p1');
    });
    t.equal(p("info --format '{{.Host.CgroupManager}}'").out, 'systemd', 'Podman\'s rootless default here');
    const rootfs = join(bundle, 'rootfs');
    const r = p(`run --rm --memory 20m --pids-limit 10 --rootfs ${rootfs} /bin/sh -c 'cat /proc/self/cgroup /sys/fs/cgroup/pids.max /sys/fs/cgroup/memory.max'`);
    t.equal(r.status, 0, r.out);
    t.same(r.out.split('\n').slice(-3), ['0::/', '10', String(20 << 20)], 'podman run --rm: in its scope, with the limits');
    const d = p(`run -d --name p1 --pids-limit 10 --rootfs ${rootfs} /bin/sleep 600`);
    t.equal(d.status, 0, d.out);
    const id = d.out.split('\n').pop()!;
    const unit = `libpod-${id}.scope`;
    t.equal(show(unit, 'ControlGroup'), `${manager}/user.slice/${unit}`, 'the scope is the user manager\'s');
    t.equal(show(unit, 'TasksMax'), '10');
    const x = p("exec p1 /bin/sh -c 'echo in-$((1+1))'");
    t.equal(x.out, 'in-2', x.out);
    const s = p('stop -t 2 p1 && podman rm p1');
    t.equal(s.status, 0, s.out);
    t.ok(await until(() => gone(unit), 10_000), 'podman rm: no unit left');
  });
});
