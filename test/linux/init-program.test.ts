import t from 'tap';
import { buildInit } from '../../src/setup/build.js';
import { execCandidates } from '../../src/spec/exec-args.js';
import { planNamespaces } from '../../src/linux/namespaces.js';
import { planCapabilities } from '../../src/linux/capabilities.js';
import { CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWUTS } from '../../src/sys/constants.js';
import type { Spec } from '../../src/spec/types/config.js';

/** Plans are plain data: these tests need no root and touch nothing. */

function spec(edit: (s: Spec) => void = () => {}): Spec {
  const s: Spec = {
    ociVersion: '1.3.0',
    root: { path: '/r' },
    process: { args: ['sh', '-c', 'true'], cwd: '/w', env: ['PATH=/bin:/usr/bin'], user: { uid: 1, gid: 2 } },
    hostname: 'h',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/data', type: 'bind', source: '/nonexistent-src', options: ['rbind', 'ro'] },
    ],
    linux: { namespaces: [{ type: 'pid' }, { type: 'mount' }, { type: 'uts' }] },
  };
  edit(s);
  return s;
}

function listing(s: Spec, extra: Partial<Parameters<typeof buildInit>[0]> = {}): string[] {
  const built = buildInit({
    spec: s, bundle: '/b', rootfs: '/r', namespaces: planNamespaces(s.linux?.namespaces), joinFds: [],
    socketFd: 5, stateDirFd: 6, scratchFd: 99, noPivot: false, extraFds: 0,
    capabilities: planCapabilities(s.process?.capabilities, (1n << 41n) - 1n), lastCap: 40,
    hooksHandshake: false, hookStdin: { createContainer: [], startContainer: [] },
    argumentArea: { argStart: 0x1000n, argEnd: 0x1100n, envStart: 0x1100n, envEnd: 0x1400n }, ...extra,
  });
  return built.emitter.p.describe();
}

const indexOf = (lines: string[], re: RegExp, from = 0) => {
  const at = lines.slice(from).findIndex((l) => re.test(l));
  return at < 0 ? -1 : at + from;
};

t.test('namespaces: new ones unshared together, joined ones in order, user first', async (t) => {
  const plan = planNamespaces([
    { type: 'network' }, { type: 'mount', path: '/m' }, { type: 'ipc' }, { type: 'user', path: '/u' }, { type: 'pid' }, { type: 'uts' },
  ]);
  t.equal(plan.unshareFlags, CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWPID | CLONE_NEWUTS);
  t.same(plan.join.map((j) => j.type), ['user', 'mount'], 'user first, mount last');
  t.equal(plan.newUser, false);
  t.equal(planNamespaces([{ type: 'user' }]).newUser, true);
});

t.test('the order of the setup', async (t) => {
  const l = listing(spec());
  const order = [
    /^rt_sigaction\(1,/, /^close_range\(3, 4/, /^%zero = openat\(-100, "\/dev\/zero"/, /^read\(%zero, 4096, 256\)/,
    /^read\(%zero, 4352, 768\)/, /^prctl\(4, 0/, new RegExp(`^unshare\\(${CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS}\\)`),
    /^%pid = clone3/, /^umask\(0\)/, /^mount\(0, "\/", 0, \d+/, /^mount\("\/r", "\/r"/, /^%root = openat\(-100, "\/r"/,
    /^mount\("proc", "\/proc\/self\/fd\/99", "proc"/, /^mount\("\/nonexistent-src", "\/proc\/self\/fd\/99", 0/,
    /^mknodat\(%devdir, "null"/, /^pivot_root\("\.", "\."\)/, /^sethostname\("h", 1\)/, /^%cwd = openat2\(-100, "\/w"/,
    /^fchdir\(%cwd\)/, /^getcwd\(/, /^close_range\(3, 4294967295, 4\)/, /^setgroups\(0,/, /^setresgid\(2, 2, 2\)/, /^setresuid\(1, 1, 1\)/, /^%access = faccessat\(-100, "\/bin\/sh"/,
    /^write\(5,/, /^%fifo = openat\(6, "exec.fifo"/, /^execve\(%exe,/,
  ];
  let last = -1;
  for (const re of order) {
    const at = indexOf(l, re, last + 1);
    t.ok(at > last, `${re} comes next (at ${at}, after ${last})`);
    last = at;
  }
});

t.test('mount destinations are resolved inside the root', async (t) => {
  const l = listing(spec());
  t.ok(l.some((x) => /^%tmp = openat2\(%root, "\/data", &\d+, 24\)/.test(x)), 'openat2 from the rootfs fd');
  t.ok(l.some((x) => /^mkdirat\(%tmp, "data", 493\) tolerate/.test(x)), 'mkdir of the destination, EEXIST tolerated');
  const remount = l.find((x) => /^(%\w+ = )?mount\(0, "\/proc\/self\/fd\/99", 0,/.test(x));
  t.ok(remount, 'a read-only bind mount is remounted');
});

t.test('a new user namespace asks the runtime for id maps before anything else', async (t) => {
  const l = listing(spec((s) => s.linux!.namespaces!.push({ type: 'user' })));
  const unshareUser = indexOf(l, /^unshare\(268435456\)/);
  t.ok(unshareUser > 0);
  t.match(l[unshareUser + 1], /^write\(5,/, 'asks for maps');
  t.match(l[unshareUser + 2], /^read\(5,/, 'waits for them');
  t.ok(indexOf(l, /^bind mount host device|^mount\("\/dev\/null"/) > 0, 'devices bind-mounted, not mknod');
});

t.test('--no-pivot uses MS_MOVE and chroot', async (t) => {
  const l = listing(spec(), { noPivot: true });
  t.equal(indexOf(l, /^pivot_root/), -1);
  t.ok(indexOf(l, /^chroot\("\."\)/) > 0);
});

t.test('passed fds keep their number; the rest close on exec', async (t) => {
  const l = listing(spec(), { extraFds: 2 });
  for (const fd of [0, 1, 2, 3, 4]) t.ok(l.includes(`fcntl(${fd}, 2, 0) tolerate any`), `fd ${fd} passed`);
  t.ok(l.includes('close_range(5, 4294967295, 4)'));
});

t.test('executable lookup along PATH', async (t) => {
  t.same(execCandidates('sh', ['PATH=/a:/b']), ['/a/sh', '/b/sh']);
  t.same(execCandidates('./x', ['PATH=/a']), ['./x']);
  t.same(execCandidates('ls', ['PATH=/first', 'PATH=/last']), ['/last/ls'], 'the last PATH wins, as in the environment');
  t.equal(execCandidates('ls').length, 6, 'the default PATH when none is given');
});

t.test('a configured device is checked against what is already at its path', async (t) => {
  const l = listing(spec((s) => {
    s.linux!.devices = [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229 }];
  }));
  const check = indexOf(l, /^%existing = statx\(%devdir, "fuse", 256, 1, &\d+\) tolerate 2$/);
  t.ok(check >= 0, 'statx of the path, ENOENT tolerated');
  t.match(l.slice(check + 1, check + 8).join('\n'), /if \(field & 61440\) != 8192 jump[^]*!= 10 jump[^]*!= 229 jump/,
    'type, major and minor compared');
  t.ok(indexOf(l, /^fail a file that is not device c 10:229 exists at \/dev\/fuse$/, check) > check, 'a mismatch fails');
  t.ok(indexOf(l, /^unlinkat\(%devdir, "fuse", 0\)/, check) > check, 'the device is made after the check');
  t.equal(indexOf(l, /^%existing = statx\(%devdir, "null"/), -1, 'default devices are not checked');
});

t.test('the AppArmor profile is written to a clone of the container\'s procfs while root, before seccomp', async (t) => {
  const l = listing(spec((s) => {
    s.process!.apparmorProfile = 'p1';
    s.linux!.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mknod'], action: 'SCMP_ACT_ERRNO' }] };
  }));
  const order = [
    /^pivot_root/, /^%procdir = openat2\(-100, "\/proc", &\d+, 24\)$/, /^%procfs = open_tree\(%procdir, "", 528385\)$/,
    /^fstatfs\(%procfs,/, /^if \(procfstype & 4294967295\) != 40864/,
    /^fail apply AppArmor profile p1: \/proc is not procfs$/,
    /^%lsm attr = openat2\(%procfs, "thread-self\/attr\/apparmor\/exec", &\d+, 24\) tolerate 2$/, /^if lsm attr < 0 jump/,
    /^%lsm attr = openat2\(%procfs, "thread-self\/attr\/exec", &\d+, 24\)$/, /^close\(%procfs\)/,
    /^%apparmor written = write\(%lsm attr, "exec p1", 7\) tolerate 2$/, /^fail AppArmor profile p1 is not loaded$/,
    /^seccomp\(/, /^setresuid\(1, 1, 1\)/, /^execve/,
  ];
  let last = -1;
  for (const re of order) {
    const at = indexOf(l, re, last + 1);
    t.ok(at > last, `${re} comes next (at ${at}, after ${last})`);
    last = at;
  }
});
