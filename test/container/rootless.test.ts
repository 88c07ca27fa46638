import t from 'tap';
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { REPO_ROOT, RUNTS } from '../helpers/containers.js';
import { decideRootless, defaultRoot, runningInUserNamespace, type Caller } from '../../src/container/rootless.js';

/**
 * runts as an unprivileged user, as runc's rootless mode: a user made for this test (with
 * /etc/subuid and /etc/subgid ranges) writes `runts spec --rootless`, runs it on a busybox
 * rootfs of its own, and its state lives under its XDG_RUNTIME_DIR.
 */

const caller = (euid: number, env: Record<string, string>, inUserNamespace = false, busUid?: number): Caller => ({
  euid, env, inUserNamespace: () => inUserNamespace, userBusUid: () => busUid,
});

t.test('rootless and the state root are decided as runc decides them', async (t) => {
  t.equal(runningInUserNamespace('         0          0 4294967295\n'), false, 'the initial maps');
  t.equal(runningInUserNamespace('         0       1000          1\n'), true);
  t.equal(runningInUserNamespace('0 0 4294967295\n1 1 1\n'), true);
  t.equal(decideRootless('auto', false, caller(1000, {})), true, 'auto: not root');
  t.equal(decideRootless(undefined, false, caller(0, {})), false, 'auto: the host\'s root');
  t.equal(decideRootless('auto', false, caller(0, {}, true)), true, 'auto: root of a user namespace');
  t.equal(decideRootless('', false, caller(0, {}, true)), true, 'empty is auto');
  t.equal(decideRootless('true', false, caller(0, {})), true);
  t.equal(decideRootless('F', false, caller(1000, {})), false, 'Go\'s ParseBool spellings');
  t.throws(() => decideRootless('yes', false, caller(0, {})), /--rootless: invalid value "yes"/);
  t.equal(decideRootless('auto', true, caller(1000, {})), true, 'auto, --systemd-cgroup: not root');
  t.equal(decideRootless('auto', true, caller(0, {}, false, 1000)), false, 'auto, --systemd-cgroup: the host\'s root');
  t.equal(decideRootless('auto', true, caller(0, {}, true, 1000)), true, 'auto, --systemd-cgroup: root of a user namespace the user bus says is uid 1000');
  t.equal(decideRootless('auto', true, caller(0, {}, true, 0)), false, 'auto, --systemd-cgroup: root of a user namespace that is root on the host');
  t.equal(decideRootless('auto', true, caller(0, {}, true)), false, 'auto, --systemd-cgroup: no user bus, as runc assumes root');
  const xdg = { XDG_RUNTIME_DIR: '/run/user/1000' };
  t.equal(defaultRoot(caller(1000, xdg)), '/run/user/1000/runts', 'a user: $XDG_RUNTIME_DIR/runts');
  t.equal(defaultRoot(caller(1000, {})), '/run/runts', 'a user without XDG_RUNTIME_DIR: /run/runts, as runc falls back');
  t.equal(defaultRoot(caller(0, { XDG_RUNTIME_DIR: '/run/user/0' })), '/run/runts', 'the host\'s root ignores it');
  t.equal(defaultRoot(caller(0, xdg, true)), '/run/user/1000/runts', 'root of a user namespace uses it');
  t.equal(defaultRoot(caller(0, { ...xdg, USER: 'root' }, true)), '/run/runts', 'unless $USER is root');
});

const NAME = `runts-rl-${process.pid}`;
const SUB_START = 400000;
const SUB_COUNT = 65536;

function sh(cmd: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function dropLines(file: string, prefix: string): void {
  if (!existsSync(file)) return;
  writeFileSync(file, readFileSync(file, 'utf8').split('\n').filter((l) => !l.startsWith(prefix)).join('\n'));
}

const haveTools = ['/usr/sbin/useradd', '/usr/sbin/runuser', '/usr/bin/newuidmap', '/usr/bin/newgidmap'].every((p) => existsSync(p));

t.test('as an unprivileged user', { skip: !haveTools && 'needs useradd, runuser and newuidmap/newgidmap (uidmap)' }, async (t) => {
  const add = sh('useradd', ['--create-home', '--shell', '/bin/sh', NAME]);
  t.equal(add.status, 0, `useradd ${NAME} ${add.stderr}`);
  const uid = Number(sh('id', ['-u', NAME]).stdout.trim());
  const gid = Number(sh('id', ['-g', NAME]).stdout.trim());
  const home = `/home/${NAME}`;
  const xdg = `/run/user/${uid}`;
  const root = join(xdg, 'runts');
  const ids = ['r1', 'c1', 'u1', 'm1', 'm2', 'x1', 'x2', 'x3', 'g1'];
  const out = join(home, 'out');
  for (const f of ['/etc/subuid', '/etc/subgid']) writeFileSync(f, `${NAME}:${SUB_START}:${SUB_COUNT}\n`, { flag: 'a' });
  mkdirSync(xdg, { recursive: true, mode: 0o700 });
  sh('chown', [`${uid}:${gid}`, xdg]);

  /** runts as the user, in `cwd`, with its XDG_RUNTIME_DIR; output through a file (a created container keeps stdio). */
  const runts = (args: string[], inCgroup?: string) => {
    const fd = openSync(out, 'w');
    const argv = ['runuser', '-u', NAME, '--', 'env', '-i', `HOME=${home}`, `USER=${NAME}`, `XDG_RUNTIME_DIR=${xdg}`,
      'PATH=/usr/bin:/bin:/usr/sbin:/sbin', RUNTS, ...args];
    // with inCgroup, the user's runts starts in that (delegated) cgroup2 directory
    const [cmd, ...rest] = inCgroup ? ['sh', '-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', inCgroup, ...argv] : argv;
    const r = spawnSync(cmd, rest, { cwd: join(home, 'b'), stdio: ['ignore', fd, fd], timeout: 60_000 });
    closeSync(fd);
    return { status: r.status, out: readFileSync(out, 'utf8') };
  };
  t.teardown(() => {
    for (const id of ids) runts(['delete', '--force', id]);
    rmSync(xdg, { recursive: true, force: true });
    sh('userdel', ['--remove', NAME]);
    rmSync(home, { recursive: true, force: true });
    for (const f of ['/etc/subuid', '/etc/subgid']) dropLines(f, `${NAME}:`);
  });

  const bundle = join(home, 'b');
  const build = spawnSync('runuser', ['-u', NAME, '--', join(REPO_ROOT, 'bundles', 'busybox', 'build-rootfs.sh'), join(bundle, 'rootfs')], { encoding: 'utf8' });
  t.equal(build.status, 0, `a rootfs the user owns ${build.stderr}`);
  t.equal(runts(['spec', '--rootless']).status, 0, 'runts spec --rootless');
  const spec = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
  t.same(spec.linux.uidMappings, [{ containerID: 0, hostID: uid, size: 1 }], 'the spec maps the caller\'s uid');
  const config = (args: string[], edit: (c: any) => void = () => {}) => {
    const c = structuredClone(spec);
    c.process.terminal = false;
    c.process.args = args;
    edit(c);
    writeFileSync(join(bundle, 'config.json'), JSON.stringify(c));
  };

  t.test('run: root inside, the user outside, state under XDG_RUNTIME_DIR', async (t) => {
    config(['sh', '-c', 'id -u; cat /proc/self/uid_map /proc/self/gid_map; cat /proc/self/setgroups; ls /sys/kernel >/dev/null && echo sys; ls /dev/null && echo dev']);
    const r = runts(['run', 'r1']);
    t.equal(r.status, 0, r.out);
    const lines = r.out.split('\n').map((l) => l.trim().split(/\s+/).join(' '));
    t.equal(lines[0], '0', 'root in the container');
    t.equal(lines[1], `0 ${uid} 1`, 'uid_map: the one id, the user\'s');
    t.equal(lines[2], `0 ${gid} 1`, 'gid_map');
    t.equal(lines[3], 'deny', 'setgroups denied, as the kernel requires for an unprivileged gid_map');
    t.ok(lines.includes('sys') && lines.includes('/dev/null'), '/sys bound, /dev/null bound from the host');
    const st = statSync(root);
    t.equal(st.uid, uid, 'the state root is the user\'s');
    t.equal(st.mode & 0o7777, 0o1700, '0700 and sticky, as runc makes it');
    t.same(readdirSync(root), [], 'nothing left after run');
  });

  t.test('create, start, exec, kill, delete', async (t) => {
    config(['sleep', '1000']);
    const created = runts(['create', 'c1']);
    t.equal(created.status, 0, `create ${created.out}`);
    const state = JSON.parse(readFileSync(join(root, 'c1', 'state.json'), 'utf8'));
    t.equal(state.owner, NAME);
    const status = readFileSync(`/proc/${state.pid}/status`, 'utf8');
    t.match(status, new RegExp(`^Uid:\\s+${uid}\\s+${uid}\\s+${uid}\\s+${uid}$`, 'm'), 'on the host the init is the user');
    t.match(runts(['state', 'c1']).out, /"status": "created"/);
    t.equal(runts(['start', 'c1']).status, 0, 'start');
    t.match(runts(['state', 'c1']).out, /"status": "running"/);
    const e = runts(['exec', 'c1', 'sh', '-c', 'id -u; cat /proc/1/cmdline; echo']);
    t.equal(e.status, 0, e.out);
    t.match(e.out, /^0\nsleep\u00001000/, 'exec: root, in the container\'s pid namespace');
    t.equal(runts(['kill', 'c1', 'KILL']).status, 0, 'kill');
    for (let i = 0; i < 100 && !/"stopped"/.test(runts(['state', 'c1']).out); i++) await new Promise((r) => setTimeout(r, 50));
    t.match(runts(['state', 'c1']).out, /"status": "stopped"/);
    t.equal(runts(['delete', 'c1']).status, 0, 'delete');
    t.notOk(existsSync(join(root, 'c1')), 'the state directory is gone');
    // a zombie until whoever the init was re-parented to reaps it
    const left = existsSync(`/proc/${state.pid}/stat`) ? readFileSync(`/proc/${state.pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0] : 'gone';
    t.ok(left === 'gone' || left === 'Z', `no process left (${left})`);
  });

  t.test('root of a user namespace (unshare --map-root-user): rootless too, as runc decides', async (t) => {
    // there the caller's ids are 0: the config maps 0, which is the user on the host
    config(['sh', '-c', 'id -u; cat /proc/self/uid_map'], (c) => {
      c.linux.uidMappings = [{ containerID: 0, hostID: 0, size: 1 }];
      c.linux.gidMappings = [{ containerID: 0, hostID: 0, size: 1 }];
      c.mounts.push({ destination: '/mnt', type: 'bind', source: home, options: ['rbind', 'ro'] });
    });
    const fd = openSync(out, 'w');
    const r = spawnSync('runuser', ['-u', NAME, '--', 'env', '-i', `HOME=${home}`, `USER=${NAME}`, `XDG_RUNTIME_DIR=${xdg}`,
      'PATH=/usr/bin:/bin:/usr/sbin:/sbin', 'unshare', '--user', '--map-root-user', RUNTS, 'run', 'u1'], { cwd: bundle, stdio: ['ignore', fd, fd], timeout: 60_000 });
    closeSync(fd);
    const got = readFileSync(out, 'utf8');
    t.equal(r.status, 0, got);
    t.same(got.split('\n').map((l) => l.trim().split(/\s+/).join(' ')).slice(0, 2), ['0', '0 0 1'], 'root inside, mapped to its root');
    t.same(readdirSync(root), [], 'its state was under the user\'s XDG_RUNTIME_DIR, and is gone');
  });

  t.test('more than one id: through newuidmap and newgidmap', async (t) => {
    const maps = [{ containerID: 0, hostID: uid, size: 1 }, { containerID: 1, hostID: SUB_START, size: SUB_COUNT }];
    const gmaps = [{ containerID: 0, hostID: gid, size: 1 }, { containerID: 1, hostID: SUB_START, size: SUB_COUNT }];
    config(['sh', '-c', 'cat /proc/self/uid_map /proc/self/setgroups; sleep 1000'], (c) => {
      c.linux.uidMappings = maps;
      c.linux.gidMappings = gmaps;
    });
    t.equal(runts(['run', '--detach', 'm1']).status, 0, 'run --detach');
    const e = runts(['exec', '--user', '1000:1000', 'm1', 'sh', '-c', 'id -u; cat /proc/self/uid_map']);
    t.equal(e.status, 0, e.out);
    const lines = e.out.split('\n').map((l) => l.trim().split(/\s+/).join(' '));
    t.same(lines.slice(0, 3), ['1000', `0 ${uid} 1`, `1 ${SUB_START} ${SUB_COUNT}`], 'a subordinate id for uid 1000');
    t.equal(runts(['delete', '--force', 'm1']).status, 0);
    // the user has no range for these
    config(['true'], (c) => {
      c.linux.uidMappings = [{ containerID: 0, hostID: uid, size: 1 }, { containerID: 1, hostID: 1, size: 10 }];
    });
    const bad = runts(['run', 'm2']);
    t.equal(bad.status, 1);
    t.match(bad.out, /^config\.json: linux\.uidMappings: newuidmap .*\n$/, 'newuidmap\'s refusal, one line');
    t.same(readdirSync(root), [], 'nothing left');
  });

  t.test('what cannot work unprivileged is a clear error, and leaves nothing', async (t) => {
    config(['true'], (c) => {
      c.linux.resources = { memory: { limit: 64 * 1024 * 1024 } };
    });
    const r = runts(['run', 'x1']);
    t.equal(r.status, 1);
    t.match(r.out, /^config\.json: linux\.resources\.memory\.limit: cannot set memory limit: rootless container could not join or create cgroup /, r.out);
    const c = runts(['check']);
    t.equal(c.status, 1, 'check says so first');
    t.match(c.out, /^problem: linux\.resources\.memory\.limit: rootless: no cgroup this user may create holds this limit/m);
    config(['true']);
    const s = runts(['--systemd-cgroup', 'run', 'x2']);
    t.equal(s.status, 1);
    // this user has no user manager here; on a cgroup v1 host it could not have one
    t.match(s.out, /^(cannot reach systemd's user manager \(rootless --systemd-cgroup\): connect to the user bus at unix:path=\/run\/user\/\d+\/bus: |--systemd-cgroup in rootless mode needs the unified cgroup v2 hierarchy)/m);
    const f = runts(['--rootless', 'false', 'run', 'x3']);
    t.equal(f.status, 1, '--rootless false: cgroups are required');
    t.match(f.out, /create cgroup .*: EACCES/);
    // CVE-2019-5736: a node the user can write cannot be sealed without privilege
    const node = join(home, 'node');
    writeFileSync(node, readFileSync(process.execPath), { mode: 0o755 });
    sh('chown', [`${uid}:${gid}`, node]);
    const fd = openSync(out, 'w');
    const w = spawnSync('runuser', ['-u', NAME, '--', 'env', '-i', `XDG_RUNTIME_DIR=${xdg}`, 'RUNTS_CALLER_FDS=0', node,
      join(REPO_ROOT, 'dist', 'bundle', 'seal.cjs'), 'run', 'x4'], { cwd: bundle, stdio: ['ignore', fd, fd], timeout: 60_000 });
    closeSync(fd);
    rmSync(node);
    t.equal(w.status, 1);
    t.equal(readFileSync(out, 'utf8'), `rootless: node (${node}) is writable by this user and cannot be cloned read-only without privilege; run runts with a node the user cannot write\n`, 'one line');
    t.same(readdirSync(root), [], 'nothing left');
  });

  const cgroup2 = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' '))
    .find((f) => f[f.indexOf('-') + 1] === 'cgroup2')?.[4];
  t.test('a delegated cgroup2 subtree: a cgroup there and only there', { skip: !cgroup2 && 'no cgroup2 mount' }, async (t) => {
    // What a delegation gives a user (systemd's Delegate=yes): a directory and its files owned by it
    const delegated = join(cgroup2!, `runts-test-rl-${process.pid}`);
    const leaf = join(delegated, 'runtime');
    mkdirSync(leaf, { recursive: true });
    t.teardown(() => {
      for (const d of [leaf, delegated]) rmdirSync(d);
    });
    for (const d of [delegated, leaf]) {
      for (const f of ['', 'cgroup.procs', 'cgroup.subtree_control', 'cgroup.threads']) sh('chown', [`${uid}:${gid}`, join(d, f)]);
    }
    const hugetlb = existsSync(join(delegated, 'hugetlb.2MB.max'));
    config(['sleep', '1000'], (c) => {
      if (hugetlb) c.linux.resources = { hugepageLimits: [{ pageSize: '2MB', limit: 4 * 1024 * 1024 }] };
    });
    const r = runts(['run', '--detach', 'g1'], leaf);
    t.equal(r.status, 0, r.out);
    const pid = JSON.parse(readFileSync(join(root, 'g1', 'state.json'), 'utf8')).pid;
    const lines = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n');
    t.ok(lines.includes(`0::/${posix.relative(cgroup2!, delegated)}/g1`), 'its cgroup2 cgroup: in the delegated subtree, beside the runtime\'s');
    const mine = readFileSync('/proc/self/cgroup', 'utf8').split('\n').filter((l) => !l.startsWith('0::'));
    t.same(lines.filter((l) => !l.startsWith('0::')), mine, 'in every v1 hierarchy, the caller\'s cgroup (the test\'s, which runuser kept)');
    if (hugetlb) t.equal(readFileSync(join(delegated, 'g1', 'hugetlb.2MB.max'), 'utf8').trim(), String(4 * 1024 * 1024), 'its limit written');
    t.equal(runts(['delete', '--force', 'g1']).status, 0);
    t.notOk(existsSync(join(delegated, 'g1')), 'its cgroup removed');
  });

  t.test('rootless Podman with runts as its runtime', { skip: !existsSync('/usr/bin/podman') && 'podman is not installed' }, async (t) => {
    const podman = (args: string[]) => {
      const fd = openSync(out, 'w');
      const r = spawnSync('runuser', ['-u', NAME, '--', 'env', '-i', `HOME=${home}`, `USER=${NAME}`, `XDG_RUNTIME_DIR=${xdg}`,
        'PATH=/usr/bin:/bin:/usr/sbin:/sbin', 'podman', '--runtime', RUNTS, ...args], { cwd: home, stdio: ['ignore', fd, fd], timeout: 120_000 });
      closeSync(fd);
      return { status: r.status, out: readFileSync(out, 'utf8') };
    };
    t.teardown(() => {
      podman(['rm', '--force', '--all']);
      // rootless Podman keeps a pause process holding its user namespace
      const pause = join(xdg, 'libpod', 'tmp', 'pause.pid');
      if (existsSync(pause)) sh('kill', [readFileSync(pause, 'utf8').trim()]);
    });
    const rootfs = join(bundle, 'rootfs');
    const r = podman(['run', '--rm', '--rootfs', rootfs, 'sh', '-c', 'id -u; cat /proc/self/uid_map']);
    t.equal(r.status, 0, r.out);
    t.match(r.out, new RegExp(`^0\\n\\s+0\\s+${uid}\\s+1\\n`, 'm'), 'run --rm: root inside, the user outside');
    t.equal(podman(['run', '-d', '--name', 'p1', '--rootfs', rootfs, 'sleep', '1000']).status, 0, 'run -d');
    const e = podman(['exec', 'p1', 'sh', '-c', 'echo exec-ok']);
    t.equal(e.status, 0, e.out);
    t.match(e.out, /exec-ok/);
    t.equal(podman(['stop', '-t', '1', 'p1']).status, 0, 'stop');
    t.equal(podman(['rm', 'p1']).status, 0, 'rm');
    const vol = join(home, 'vol');
    mkdirSync(vol);
    writeFileSync(join(vol, 'in'), 'from the host\n');
    sh('chown', ['-R', `${uid}:${gid}`, vol]);
    const v = podman(['run', '--rm', '-v', `${vol}:/vol`, '--rootfs', rootfs, 'sh', '-c', 'cat /vol/in; echo back > /vol/out']);
    t.equal(v.status, 0, v.out);
    t.match(v.out, /from the host/, 'a volume');
    t.equal(readFileSync(join(vol, 'out'), 'utf8'), 'back\n', 'written through to the host');
  });
});
