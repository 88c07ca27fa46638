import t from 'tap';
import { Emitter } from '../../src/program/emit.js';
import { cgroupLayout, type CgroupLayout, emitCoverRevealingMounts, emitEnterRoot, emitMounts, emitPrepareRoot, labelData } from '../../src/linux/mounts.js';
import { emitMaskedPaths, emitReadonlyPaths } from '../../src/linux/paths.js';
import { checkSysctl, dottedKey, emitSysctl, sysctlFile } from '../../src/linux/sysctl.js';
import { mountAttr, parseMountOptions, perMountAttributes } from '../../src/linux/mount-options.js';
import {
  AT_EMPTY_PATH, AT_RECURSIVE, MOUNT_ATTR__ATIME, MOUNT_ATTR_NOATIME, MOUNT_ATTR_NODEV, MOUNT_ATTR_NOSUID, MOUNT_ATTR_RDONLY,
  MOUNT_ATTR_STRICTATIME, MS_BIND, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_PRIVATE, MS_RDONLY, MS_REC, MS_RELATIME, MS_REMOUNT,
  MOVE_MOUNT_F_EMPTY_PATH, MOVE_MOUNT_T_EMPTY_PATH, MS_SHARED, MS_SLAVE, O_CLOEXEC, OPEN_TREE_CLONE,
} from '../../src/sys/constants.js';
import type { Spec } from '../../src/spec/types/config.js';

/** The plans of mounts, paths and sysctls are plain data: these tests need no root and touch nothing. */

function spec(edit: (s: Spec) => void = () => {}): Spec {
  const s: Spec = {
    ociVersion: '1.3.0',
    root: { path: '/r' },
    process: { args: ['true'], cwd: '/' },
    mounts: [],
    linux: { namespaces: [{ type: 'pid' }, { type: 'mount' }, { type: 'ipc' }, { type: 'uts' }, { type: 'network' }] },
  };
  edit(s);
  return s;
}

function plan(emit: (e: Emitter) => void): string[] {
  const e = new Emitter(99);
  emit(e);
  return e.p.describe();
}

t.test('perMountAttributes: set what is given, clear what is negated, leave the rest', async (t) => {
  t.same(perMountAttributes(parseMountOptions(['ro', 'nosuid', 'dev'])), { set: MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID, clear: MOUNT_ATTR_NODEV });
  t.same(perMountAttributes(parseMountOptions(['noatime'])), { set: MOUNT_ATTR_NOATIME, clear: MOUNT_ATTR__ATIME }, 'an atime mode clears the whole atime field');
  t.same(perMountAttributes(parseMountOptions(['noatime', 'strictatime'])), { set: MOUNT_ATTR_STRICTATIME, clear: MOUNT_ATTR__ATIME }, 'strictatime wins, as in mount(2)');
  t.same(perMountAttributes(parseMountOptions(['rbind', 'size=1m'])), { set: 0, clear: 0 });
  const attr = mountAttr(MOUNT_ATTR_RDONLY, MOUNT_ATTR_NODEV, MS_SLAVE);
  t.equal(attr.length, 32, 'struct mount_attr');
  t.equal(attr.readBigUInt64LE(0), BigInt(MOUNT_ATTR_RDONLY));
  t.equal(attr.readBigUInt64LE(8), BigInt(MOUNT_ATTR_NODEV));
  t.equal(attr.readBigUInt64LE(16), BigInt(MS_SLAVE));
});

t.test('the rootfs parent mount: tried from the rootfs up, slave by default', async (t) => {
  const l = plan((e) => emitPrepareRoot(e, spec(), '/a/b/rootfs'));
  const tries = l.filter((x) => x.includes(`0, ${MS_SLAVE}, 0)`) && !x.includes('"/"'));
  t.same(tries.map((x) => /"([^"]+)"/.exec(x)?.[1]), ['/a/b/rootfs', '/a/b', '/a'], 'each directory up from the rootfs, EINVAL tolerated');
  t.ok(tries.every((x) => x.startsWith('%parentmount = ') && x.endsWith('tolerate 22')));
  t.ok(l.includes(`mount(0, "/", 0, ${MS_SLAVE}, 0)`), '/ itself last, without tolerance');
  const priv = plan((e) => emitPrepareRoot(e, spec((s) => (s.linux!.rootfsPropagation = 'shared')), '/rootfs'));
  t.ok(priv.some((x) => x.startsWith(`%parentmount = mount(0, "/rootfs", 0, ${MS_PRIVATE}, 0)`)), 'private unless / was made a slave');
});

t.test('rootfsPropagation applies to the rootfs once it is /; a shared old root is made a slave first', async (t) => {
  const l = plan((e) => emitEnterRoot(e, spec((s) => (s.linux!.rootfsPropagation = 'shared')), false));
  const slave = l.indexOf(`mount(0, "/", 0, ${MS_SLAVE}, 0)`);
  const pivot = l.findIndex((x) => x.startsWith('pivot_root'));
  const apply = l.indexOf(`mount(0, "/", 0, ${MS_SHARED}, 0)`);
  t.ok(slave >= 0 && slave < pivot && pivot < apply, `slave ${slave} < pivot ${pivot} < propagation ${apply}`);
  t.notOk(plan((e) => emitEnterRoot(e, spec(), false)).some((x) => x.startsWith('mount(0, "/", 0,')), 'nothing when it is not set');
});

t.test('bind mounts: remounted with their options; mount_setattr keeps locked flags on EPERM', async (t) => {
  const l = plan((e) => emitMounts(e, spec((s) => {
    s.mounts = [{ destination: '/data', type: 'bind', source: '/src', options: ['rbind', 'ro', 'nosuid', 'rnodev', 'rprivate'] }];
  }), '/b'));
  const bind = l.findIndex((x) => x.startsWith('mount("/src", "/proc/self/fd/99", 0,'));
  const reopen = l.findIndex((x, i) => i > bind && x.startsWith('%tmp = openat2(%root, "/data"'));
  const remount = l.findIndex((x) => x.startsWith(`%remount = mount(0, "/proc/self/fd/99", 0, ${MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID}, 0)`));
  t.ok(bind >= 0 && reopen > bind && remount > reopen, 'bind, open the new mount, remount');
  t.ok(l[remount].endsWith('tolerate 1'), 'EPERM tolerated');
  t.match(l[remount + 1], /^if remount == 0 jump/);
  t.match(l[remount + 2], new RegExp(`^mount_setattr\\(99, "", ${AT_EMPTY_PATH}, &\\d+, 32\\)`), 'the fallback changes only the options given');
  t.ok(l.includes(`mount(0, "/proc/self/fd/99", 0, ${MS_PRIVATE | MS_REC}, 0)`), 'rprivate');
  t.ok(l.some((x) => x.startsWith(`mount_setattr(99, "", ${AT_EMPTY_PATH | AT_RECURSIVE}, &`)), 'recursive options with AT_RECURSIVE');
  const idmapped = plan((e) => emitMounts(e, spec((s) => {
    s.mounts = [{ destination: '/data', type: 'bind', source: '/src', options: ['rbind', 'idmap'] }];
  }), '/b', { detached: new Map([[0, 42]]) }));
  t.ok(idmapped.includes(`move_mount(42, "", 99, "", ${MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH})`), 'an id-mapped mount is moved from its fd');
  t.notOk(idmapped.some((x) => x.startsWith('mount("/src"')), 'and not bound');
});

t.test('--no-pivot in a user namespace: the host\'s whole proc and sysfs mounts get a cover, in a mount namespace of the intermediate', async (t) => {
  const mountinfo = () => [
    '22 27 0:21 / /proc rw,relatime - proc proc rw',
    '23 27 0:22 / /sys rw,relatime - sysfs sysfs rw',
    '50 27 0:21 /sys /mnt/procsys rw - proc proc rw',
    '51 27 0:40 / /r/proc rw - proc proc rw',
    '52 27 0:41 / /host\\040x/proc rw - proc proc rw',
  ].join('\n');
  const cover = (noPivot: boolean, userns: boolean, s = spec()) => plan((e) => emitCoverRevealingMounts(e, s, '/r', noPivot, userns, mountinfo));
  const l = cover(true, true);
  t.same(l.slice(0, 2), ['unshare(131072)', `mount(0, "/", 0, ${MS_SLAVE | MS_REC}, 0)`], 'a mount namespace of its own, whose mounts do not reach the host');
  t.same(l.slice(2).map((x) => x.split(', ')[1]), ['"/proc/sys"', '"/sys/kernel"', '"/host x/proc/sys"'], 'whole filesystems outside the rootfs only');
  t.same(cover(false, true), [], 'nothing with pivot_root');
  t.same(cover(true, false), [], 'nothing outside a user namespace');
  t.same(cover(true, true, spec((s) => (s.linux!.namespaces = [{ type: 'mount', path: '/proc/1/ns/mnt' }]))), [], 'nothing in a joined mount namespace');
  const ownProc = cover(true, true, spec((s) => (s.mounts = [{ destination: '/proc', type: 'proc', source: 'proc' }])));
  t.same(ownProc.slice(2).map((x) => x.split(', ')[1]), ['"/sys/kernel"'], 'not proc when the container mounts its own');
});

t.test('a read-only /dev is made read-only after its devices', async (t) => {
  const s = spec((s) => (s.mounts = [{ destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['ro', 'nosuid'] }]));
  const mounts = plan((e) => emitMounts(e, s, '/b'));
  t.ok(mounts.some((x) => x === 'mount("tmpfs", "/proc/self/fd/99", "tmpfs", 2, 0)'), 'mounted writable');
  t.ok(plan((e) => emitEnterRoot(e, s, false)).some((x) => /^mount_setattr\(-100, "\/dev", 0, &\d+, 32\)$/.test(x)));
});

t.test('cgroup layouts of v1, hybrid and v2 hosts', async (t) => {
  const line = (id: number, point: string, fstype: string, opts: string) => `${id} 30 0:${id} / ${point} rw,nosuid - ${fstype} ${fstype} ${opts}`;
  const hybrid = [
    '30 22 0:27 / /sys/fs/cgroup ro - tmpfs tmpfs ro,mode=755',
    line(31, '/sys/fs/cgroup/cpu,cpuacct', 'cgroup', 'rw,cpu,cpuacct'),
    line(32, '/sys/fs/cgroup/memory', 'cgroup', 'rw,memory'),
    line(33, '/sys/fs/cgroup/systemd', 'cgroup', 'rw,xattr,release_agent=/x,name=systemd'),
    line(34, '/sys/fs/cgroup/unified', 'cgroup2', 'rw,nsdelegate'),
    line(35, '/elsewhere/memory', 'cgroup', 'rw,memory'),
  ].join('\n');
  t.same(cgroupLayout(hybrid, ['cpu', 'cpuacct', 'memory']), {
    v2: false,
    hierarchies: [
      { name: 'cpu,cpuacct', fstype: 'cgroup', data: 'cpu,cpuacct' },
      { name: 'memory', fstype: 'cgroup', data: 'memory' },
      { name: 'systemd', fstype: 'cgroup', data: 'name=systemd' },
      { name: 'unified', fstype: 'cgroup2', data: '' },
    ],
  });
  t.same(cgroupLayout(line(30, '/sys/fs/cgroup', 'cgroup2', 'rw,nsdelegate'), []), { v2: true, hierarchies: [] });
  t.same(cgroupLayout(line(30, '/sys/fs/cgroup/with\\040space', 'cgroup', 'rw,pids'), ['pids']).hierarchies[0].name, 'with space', 'mountinfo escapes');
});

t.test('a cgroup mount on a v1 host: fresh hierarchies in a cgroup namespace, the container\'s cgroups bound without', async (t) => {
  const layout: CgroupLayout = {
    v2: false,
    hierarchies: [
      { name: 'cpu,cpuacct', fstype: 'cgroup', data: 'cpu,cpuacct' },
      { name: 'memory', fstype: 'cgroup', data: 'memory' },
      { name: 'unified', fstype: 'cgroup2', data: '' },
    ],
  };
  const dirs = ['/sys/fs/cgroup/unified/runts/c', '/sys/fs/cgroup/cpu,cpuacct/runts/c', '/sys/fs/cgroup/memory/runts/c'];
  const cgroupSpec = (cgroupNs: boolean) => spec((s) => {
    s.mounts = [{ destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] }];
    if (cgroupNs) s.linux!.namespaces!.push({ type: 'cgroup' });
  });
  const cgroupFlags = MS_NOSUID | MS_NODEV | MS_NOEXEC;
  const tmpfs = `mount("tmpfs", "/proc/self/fd/99", "tmpfs", ${cgroupFlags}, "mode=755")`;
  const links = ['symlinkat("cpu,cpuacct", %cgroupdir, "cpu") tolerate 17', 'symlinkat("cpu,cpuacct", %cgroupdir, "cpuacct") tolerate 17'];
  const tmpfsReadonly = `%remount = mount(0, "/proc/self/fd/99", 0, ${MS_BIND | MS_REMOUNT | MS_RDONLY | cgroupFlags}, 0) tolerate 1`;

  const bound = plan((e) => emitMounts(e, cgroupSpec(false), '/b', { cgroupDirs: dirs, cgroupLayout: () => layout }));
  t.notOk(bound.some((x) => /^mount\("cgroup2?"/.test(x)), 'no fresh cgroup mount');
  const order = [tmpfs];
  for (const h of ['cpu,cpuacct', 'memory', 'unified']) {
    order.push(
      `mount("/sys/fs/cgroup/${h}/runts/c", "/proc/self/fd/99", 0, ${MS_BIND | MS_REC}, 0)`,
      `%tmp = openat2(%root, "/sys/fs/cgroup/${h}", &`,
      `%remount = mount(0, "/proc/self/fd/99", 0, ${MS_BIND | MS_REMOUNT | MS_RDONLY | cgroupFlags | MS_RELATIME}, 0) tolerate 1`,
    );
  }
  order.push(...links, tmpfsReadonly);
  let at = -1;
  for (const line of order) {
    const next = bound.findIndex((x, i) => i > at && x.startsWith(line));
    t.ok(next > at, `then ${line}`);
    at = next;
  }

  const fresh = plan((e) => emitMounts(e, cgroupSpec(true), '/b', { cgroupDirs: dirs, cgroupLayout: () => layout }));
  t.notOk(fresh.some((x) => x.includes('/runts/c')), 'nothing bound in a cgroup namespace');
  const hierarchyFlags = MS_RDONLY | cgroupFlags | MS_RELATIME;
  for (const line of [
    tmpfs,
    `mount("cgroup", "/proc/self/fd/99", "cgroup", ${hierarchyFlags}, "cpu,cpuacct")`,
    `mount("cgroup", "/proc/self/fd/99", "cgroup", ${hierarchyFlags}, "memory")`,
    `mount("cgroup2", "/proc/self/fd/99", "cgroup2", ${hierarchyFlags}, 0)`,
    ...links, tmpfsReadonly,
  ]) t.ok(fresh.includes(line), line);

  t.throws(() => plan((e) => emitMounts(e, cgroupSpec(false), '/b', { cgroupDirs: dirs.filter((d) => !d.includes('memory')), cgroupLayout: () => layout })),
    /^config\.json: mounts\[0\]: the container has no cgroup under \/sys\/fs\/cgroup\/memory to bind on \/sys\/fs\/cgroup\/memory$/);
  const v2 = plan((e) => emitMounts(e, cgroupSpec(false), '/b', { cgroupDirs: ['/sys/fs/cgroup/runts/c'], cgroupLayout: () => ({ v2: true, hierarchies: [] }) }));
  t.ok(v2.some((x) => x.startsWith('mount("cgroup", "/proc/self/fd/99", "cgroup2",')), 'a v2 host: cgroup2, with or without a namespace');
  const v2Layout = () => ({ v2: true, hierarchies: [] });
  for (const [what, s, runtimeInUserNamespace] of [
    ['a user namespace', spec((c) => {
      c.mounts = cgroupSpec(false).mounts;
      c.linux!.namespaces!.push({ type: 'user' });
    }), false],
    ['the runtime\'s user namespace', cgroupSpec(false), true],
  ] as const) {
    const l = plan((e) => emitMounts(e, s, '/b', { cgroupDirs: ['/sys/fs/cgroup/runts/c'], cgroupLayout: v2Layout, runtimeInUserNamespace }));
    t.notOk(l.some((x) => x.includes('"cgroup2"')), `${what} without a cgroup namespace: no cgroup2 mount, which the kernel refuses`);
    t.ok(l.some((x) => x.startsWith(`mount("/sys/fs/cgroup/runts/c", "/proc/self/fd/99", 0, ${MS_BIND | MS_REC}, 0)`)), 'the container\'s cgroup bound');
  }
  // a rootless container's /sys is the host's: cgroup2 on its cgroup2 mount is EBUSY
  const both = plan((e) => emitMounts(e, spec((c) => {
    c.mounts = cgroupSpec(true).mounts;
    c.linux!.namespaces!.push({ type: 'cgroup' }, { type: 'user' });
  }), '/b', { cgroupDirs: ['/sys/fs/cgroup/runts/c'], cgroupLayout: v2Layout }));
  const tried = both.findIndex((x) => x.startsWith('%cgroup2 = mount("cgroup", "/proc/self/fd/99", "cgroup2",') && x.endsWith(' tolerate 1,16'));
  const bindAt = both.findIndex((x) => x.startsWith(`mount("/sys/fs/cgroup/runts/c", "/proc/self/fd/99", 0, ${MS_BIND | MS_REC}, 0)`));
  t.ok(tried >= 0 && bindAt > tried, 'with a user and a cgroup namespace: cgroup2 tried, the container\'s cgroup bound where the kernel refuses it');
});

t.test('mountLabel becomes context= in the data of labeled filesystems', async (t) => {
  t.equal(labelData('', 'a:b:c:s0'), 'context="a:b:c:s0"');
  t.equal(labelData('size=1m', 'a:b:c:s0'), 'size=1m,context="a:b:c:s0"');
  t.equal(labelData('size=1m', undefined), 'size=1m');
});

t.test('readonly paths: a recursive clone made read-only and moved onto the path', async (t) => {
  const l = plan((e) => emitReadonlyPaths(e, spec((s) => (s.linux!.readonlyPaths = ['/proc/sys']))));
  t.match(l[0], /^%readonly = openat2\(-100, "\/proc\/sys", &\d+, 24\) tolerate \d+$/, 'resolved in the container, ENOENT tolerated');
  t.match(l[1], /^if readonly < 0 jump/, 'a missing path is skipped');
  t.match(l[2], /^%readonlytree = open_tree\(%readonly, "", \d+\)$/);
  t.match(l[3], new RegExp(`^mount_setattr\\(%readonlytree, "", ${AT_EMPTY_PATH | AT_RECURSIVE}, &\\d+, 32\\)$`));
  t.match(l[4], /^move_mount\(%readonlytree, "", %readonly, "", 68\)$/);
});

t.test('masked paths: one /dev/null, checked to be c 1:3, bound by fd; directories get a read-only tmpfs, by fd too', async (t) => {
  const l = plan((e) => emitMaskedPaths(e, spec((s) => {
    s.linux!.maskedPaths = ['/proc/kcore', '/proc/acpi'];
    s.linux!.mountLabel = 'a:b:c:s0';
  })));
  t.match(l[0], /^%devnull = openat2\(-100, "\/dev\/null", &\d+, 24\)$/, '/dev/null, no symlink allowed');
  t.match(l[1], /^statx\(%devnull, "", 4096, 1, &\d+\)$/, 'its type and number, by fd');
  t.ok(l.includes('fail the container\'s /dev/null is not the null device (c 1:3)'));
  t.equal(l.filter((x) => x.includes('"/dev/null"')).length, 1, '/dev/null is resolved once');
  t.equal(l.filter((x) => x === '%maskbind = open_tree(%devnull, "", 528385)').length, 2, 'a file gets a clone of /dev/null');
  const made = l.indexOf('%masktmpfsctx = fsopen("tmpfs", 1)');
  t.same(l.slice(made, made + 7), [
    '%masktmpfsctx = fsopen("tmpfs", 1)', 'fsconfig(%masktmpfsctx, 1, "source", "tmpfs", 0)', 'fsconfig(%masktmpfsctx, 0, "ro", 0, 0)',
    'fsconfig(%masktmpfsctx, 1, "context", "a:b:c:s0", 0)', 'fsconfig(%masktmpfsctx, 6, 0, 0, 0)',
    `%maskbind = fsmount(%masktmpfsctx, 1, ${MOUNT_ATTR_RDONLY})`, 'close(%masktmpfsctx)',
  ], 'a directory gets a read-only tmpfs with the mount label, attached nowhere');
  t.equal(l.filter((x) => x === 'move_mount(%maskbind, "", %masked, "", 68)').length, 4, 'either moved onto the opened target');
  t.notOk(l.some((x) => x.includes('/proc/self/fd/')), 'no path through the container\'s /proc');
  t.notOk(l.some((x) => /^(%\w+ = )?mount\("\/dev\/null"/.test(x)), 'no mount(2) by path of /dev/null');
});

t.test('sysctl keys: dotted and slashed forms, and their files', async (t) => {
  t.equal(dottedKey('net/ipv4/conf/eth0.100/forwarding'), 'net.ipv4.conf.eth0/100.forwarding');
  t.equal(dottedKey('net.ipv4.ip_forward'), 'net.ipv4.ip_forward');
  t.equal(sysctlFile('net.ipv4.conf.eth0/100.forwarding'), '/proc/sys/net/ipv4/conf/eth0.100/forwarding');
  t.equal(sysctlFile('net/ipv4/conf/eth0.100/forwarding'), '/proc/sys/net/ipv4/conf/eth0.100/forwarding');
  t.equal(sysctlFile('kernel.shmmax'), '/proc/sys/kernel/shmmax');
});

t.test('sysctl keys: only those of the container\'s namespaces', async (t) => {
  const check = (sysctl: Record<string, string>, edit: (s: Spec) => void = () => {}) => () => checkSysctl(spec((s) => {
    s.linux!.sysctl = sysctl;
    edit(s);
  }));
  const without = (type: string) => (s: Spec) => (s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== type));
  t.doesNotThrow(check({ 'kernel.shmmax': '1', 'kernel.msgmax': '1', 'kernel.sem': '1 2 3 4', 'fs.mqueue.msg_max': '10' }));
  t.doesNotThrow(check({ 'net.ipv4.ip_forward': '1', 'net/ipv4/conf/lo/forwarding': '1', 'kernel.domainname': 'x' }));
  t.throws(check({ 'kernel.shmmax': '1' }, without('ipc')), /^config\.json: linux\.sysctl\["kernel\.shmmax"\]: needs an ipc namespace/);
  t.throws(check({ 'net.core.somaxconn': '1' }, without('network')), /needs a network namespace of the container/);
  t.throws(check({ 'kernel.domainname': 'x' }, without('uts')), /is not a namespaced sysctl/);
  t.throws(check({ 'kernel.hostname': 'x' }), /conflicts with the hostname field/);
  t.throws(check({ 'vm.swappiness': '1' }), /^config\.json: linux\.sysctl\["vm\.swappiness"\]: is not a namespaced sysctl: setting it would change the host$/);
  t.throws(check({ 'net.//.kernel.core_pattern': 'x' }), /is not a sysctl name/, 'no way out of the namespace\'s subtree');
  t.throws(check({ 'net.ipv4..x': 'x' }), /is not a sysctl name/);
  t.throws(check({ 'net.ipv4.ip_forward': '1' }, (s) => {
    s.linux!.namespaces = [...s.linux!.namespaces!.filter((n) => n.type !== 'network'), { type: 'network', path: '/proc/self/ns/net' }];
  }), /not the host's/);
});

t.test('sysctl: written through a clone of the container\'s procfs; domainname with setdomainname', async (t) => {
  const l = plan((e) => emitSysctl(e, spec((s) => (s.linux!.sysctl = { 'net.ipv4.ip_forward': '1', 'kernel.shmmax': '5', 'kernel.domainname': 'example.test' }))));
  t.match(l[0], /^%procdir = openat2\(-100, "\/proc", &\d+, 24\)$/, '/proc, once');
  t.equal(l[1], `%procfs = open_tree(%procdir, "", ${OPEN_TREE_CLONE | O_CLOEXEC | AT_EMPTY_PATH})`, 'that one mount cloned, none of the mounts on it');
  t.match(l[3], /^fstatfs\(%procfs, &\d+\)$/, 'checked to be procfs');
  t.ok(l.includes('fail open procfs for linux.sysctl: /proc is not procfs'));
  const opens = l.filter((x) => x.startsWith('%sysctl = '));
  t.equal(opens.length, 2);
  t.match(opens[0], /^%sysctl = openat2\(%procfs, "sys\/net\/ipv4\/ip_forward", &\d+, 24\)$/, 'beneath the clone');
  t.match(opens[1], /^%sysctl = openat2\(%procfs, "sys\/kernel\/shmmax", &\d+, 24\)$/);
  t.ok(l.includes('write(%sysctl, "1", 1)') && l.includes('write(%sysctl, "5", 1)'));
  t.ok(l.includes('setdomainname("example.test", 12)'));
  t.equal(l[l.length - 1], 'close(%procfs)');
  t.throws(() => plan((e) => emitSysctl(e, spec((s) => (s.linux!.sysctl = { 'vm.swappiness': '1' })))), /is not a namespaced sysctl/, 'checked again when planned');
});
