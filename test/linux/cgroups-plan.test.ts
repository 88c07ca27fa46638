import t from 'tap';
import { parseCgroupHost, type CgroupHost } from '../../src/linux/cgroups/host.js';
import { cgroupPath, planCgroups, type CgroupPlan } from '../../src/linux/cgroups/plan.js';
import { blkioToIoWeight, sharesToWeight } from '../../src/linux/cgroups/resources.js';
import { deviceProgram, deviceRules, emulateDevices } from '../../src/linux/cgroups/devices.js';
import { emitJoinCgroups, cgroupProcsFiles } from '../../src/linux/cgroups/join.js';
import { Emitter } from '../../src/program/emit.js';
import type { LinuxResources, Spec } from '../../src/spec/types/config.js';

/** Planning reads nothing: these tests give it fake mount tables and need no root. */

const HYBRID_MOUNTINFO = [
  '24 1 0:22 / /sys rw,nosuid - sysfs sysfs rw',
  '30 24 0:27 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755',
  '31 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct',
  '33 30 0:30 / /sys/fs/cgroup/cpuset rw - cgroup cgroup rw,cpuset,clone_children',
  '34 30 0:31 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory',
  '35 30 0:32 / /sys/fs/cgroup/devices rw - cgroup cgroup rw,devices',
  '37 30 0:34 / /sys/fs/cgroup/blkio rw - cgroup cgroup rw,blkio',
  '38 30 0:35 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids',
  '39 30 0:36 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,release_agent=/x,name=systemd',
  '40 30 0:37 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw,nsdelegate',
  // the same memory hierarchy bound elsewhere: the first mount stands for it
  '41 1 0:31 / /mnt/mem\\040copy rw - cgroup cgroup rw,memory',
].join('\n');

const HYBRID_CGROUP = [
  '9:name=systemd:/user.slice/session-1.scope',
  '8:pids:/user.slice',
  '7:blkio:/',
  '5:devices:/user.slice',
  '4:memory:/user.slice/session-1.scope',
  '3:cpuset:/',
  '1:cpu,cpuacct:/',
  '0::/user.slice/session-1.scope',
].join('\n');

const hybrid = (): CgroupHost => parseCgroupHost(HYBRID_MOUNTINFO, HYBRID_CGROUP, () => ['hugetlb']);

const V2_MOUNTINFO = '30 24 0:27 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate';
const v2 = (controllers = ['cpuset', 'cpu', 'io', 'memory', 'hugetlb', 'pids', 'rdma']): CgroupHost =>
  parseCgroupHost(V2_MOUNTINFO, '0::/user.slice/user-0.slice/session-1.scope\n', () => controllers);

function spec(linux: Spec['linux']): Spec {
  return { ociVersion: '1.3.0', root: { path: 'r' }, linux };
}

/** The writes as "dir/file=value" (first choice) lines, without the device rules. */
function writes(plan: CgroupPlan): string[] {
  return plan.writes.filter((w) => !w.choices[0].file.startsWith('devices.')).map((w) => `${w.dir}/${w.choices[0].file}=${w.choices[0].value}`);
}

function error(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return (err as Error).message;
  }
  return 'no error';
}

t.test('host: hierarchies from mountinfo and /proc/self/cgroup', async (t) => {
  const host = hybrid();
  t.same(host.hierarchies.map((h) => [h.version, h.mountPoint, h.controllers.join(','), h.own]), [
    [2, '/sys/fs/cgroup/unified', 'hugetlb', '/user.slice/session-1.scope'],
    [1, '/sys/fs/cgroup/cpu,cpuacct', 'cpu,cpuacct', '/'],
    [1, '/sys/fs/cgroup/cpuset', 'cpuset', '/'],
    [1, '/sys/fs/cgroup/memory', 'memory', '/user.slice/session-1.scope'],
    [1, '/sys/fs/cgroup/devices', 'devices', '/user.slice'],
    [1, '/sys/fs/cgroup/blkio', 'blkio', '/'],
    [1, '/sys/fs/cgroup/pids', 'pids', '/user.slice'],
    [1, '/sys/fs/cgroup/systemd', 'name=systemd', '/user.slice/session-1.scope'],
  ], 'cgroup2 first; mount flags are not controllers; one entry per hierarchy');

  const hidden = parseCgroupHost(`${HYBRID_MOUNTINFO}\n50 30 0:37 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw`, HYBRID_CGROUP, (m) => [m]);
  t.same(hidden.hierarchies.map((h) => h.mountPoint), ['/sys/fs/cgroup', '/mnt/mem copy'],
    'a mount over /sys/fs/cgroup hides the ones below it; octal escapes are undone');
});

t.test('cgroupsPath: absolute from the root, relative from runts\' own cgroup, default the id', async (t) => {
  const [unified, cpu, , memory] = hybrid().hierarchies;
  t.equal(cgroupPath(memory, '/a/b', 'id'), '/a/b');
  t.equal(cgroupPath(memory, '/a/../../b', 'id'), '/b', '.. never climbs above the root');
  t.equal(cgroupPath(memory, 'a/b', 'id'), '/user.slice/session-1.scope/a/b', 'v1: below the own cgroup');
  t.equal(cgroupPath(unified, 'a/b', 'id'), '/user.slice/a/b', 'v2: below the own cgroup\'s parent, which may enable controllers');
  t.equal(cgroupPath(cpu, '../../x', 'id'), '/x', 'relative .. stays below the base');
  t.equal(cgroupPath(memory, undefined, 'c1'), '/user.slice/session-1.scope/c1', 'no cgroupsPath: the id, relative, as runc');
  t.equal(cgroupPath(memory, '', 'c1'), '/user.slice/session-1.scope/c1', 'empty is absent');
  t.match(error(() => cgroupPath(memory, '/', 'id')), 'config.json: linux.cgroupsPath: "/" names no cgroup of its own');
  t.match(error(() => cgroupPath(memory, '.', 'id')), 'names no cgroup of its own');

  const plan = planCgroups(spec({ cgroupsPath: '/runts/c' }), 'c', hybrid());
  t.same(plan.dirs.map((d) => d.path), [
    '/sys/fs/cgroup/unified/runts/c', '/sys/fs/cgroup/cpu,cpuacct/runts/c', '/sys/fs/cgroup/cpuset/runts/c',
    '/sys/fs/cgroup/memory/runts/c', '/sys/fs/cgroup/devices/runts/c', '/sys/fs/cgroup/blkio/runts/c',
    '/sys/fs/cgroup/pids/runts/c', '/sys/fs/cgroup/systemd/runts/c',
  ], 'every hierarchy, the named one (name=systemd) too');
  t.same(cgroupProcsFiles(['/sys/fs/cgroup/x']), ['/sys/fs/cgroup/x/cgroup.procs']);

  const sub = parseCgroupHost('1 0 0:1 /docker/abc /sys/fs/cgroup rw - cgroup2 cgroup2 rw', '0::/docker/abc/inner\n', () => []);
  t.equal(planCgroups(spec({ cgroupsPath: 'c' }), 'c', sub).dirs[0].path, '/sys/fs/cgroup/c',
    'a mounted subtree: paths are taken relative to its root');
  t.match(error(() => planCgroups(spec({ cgroupsPath: '/elsewhere' }), 'c', sub)), 'is not below the cgroup mounted on /sys/fs/cgroup');
});

const ALL: LinuxResources = {
  memory: { limit: 67108864, reservation: 33554432, swap: 134217728, swappiness: 10, disableOOMKiller: true, kernel: 1 },
  cpu: { shares: 512, quota: 50000, period: 100000, cpus: '0-1', mems: '0' },
  pids: { limit: 4 },
  blockIO: { weight: 500, weightDevice: [{ major: 8, minor: 0, weight: 300 }], throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }], throttleWriteIOPSDevice: [{ major: 8, minor: 16, rate: 30 }] },
  hugepageLimits: [{ pageSize: '2MB', limit: 4194304 }],
};

t.test('resources on v1 (hybrid host): v1 files, hugetlb in the cgroup2 hierarchy', async (t) => {
  const plan = planCgroups(spec({ cgroupsPath: '/r/c', resources: ALL }), 'c', hybrid());
  t.same(writes(plan), [
    '/sys/fs/cgroup/cpu,cpuacct/r/c/cpu.shares=512',
    '/sys/fs/cgroup/cpu,cpuacct/r/c/cpu.cfs_period_us=100000',
    '/sys/fs/cgroup/cpu,cpuacct/r/c/cpu.cfs_quota_us=50000',
    '/sys/fs/cgroup/cpu,cpuacct/r/c/cpu.cfs_period_us=100000',
    '/sys/fs/cgroup/cpuset/r/c/cpuset.cpus=0-1',
    '/sys/fs/cgroup/cpuset/r/c/cpuset.mems=0',
    '/sys/fs/cgroup/memory/r/c/memory.memsw.limit_in_bytes=134217728',
    '/sys/fs/cgroup/memory/r/c/memory.limit_in_bytes=67108864',
    '/sys/fs/cgroup/memory/r/c/memory.memsw.limit_in_bytes=134217728',
    '/sys/fs/cgroup/memory/r/c/memory.soft_limit_in_bytes=33554432',
    '/sys/fs/cgroup/memory/r/c/memory.swappiness=10',
    '/sys/fs/cgroup/memory/r/c/memory.oom_control=1',
    '/sys/fs/cgroup/pids/r/c/pids.max=4',
    '/sys/fs/cgroup/blkio/r/c/blkio.weight=500',
    '/sys/fs/cgroup/blkio/r/c/blkio.weight_device=8:0 300',
    '/sys/fs/cgroup/blkio/r/c/blkio.throttle.read_bps_device=8:0 1048576',
    '/sys/fs/cgroup/blkio/r/c/blkio.throttle.write_iops_device=8:16 30',
    '/sys/fs/cgroup/unified/r/c/hugetlb.2MB.max=4194304',
    '/sys/fs/cgroup/unified/r/c/hugetlb.2MB.rsvd.max=4194304',
  ]);
  const byFile = (f: string) => plan.writes.filter((w) => w.choices[0].file === f);
  t.same(byFile('memory.memsw.limit_in_bytes').map((w) => Boolean(w.mayFail)), [true, false],
    'memsw is tried before the limit and written again after it');
  t.same(byFile('cpu.cfs_period_us').map((w) => Boolean(w.mayFail)), [true, false]);
  t.same(byFile('blkio.weight')[0].choices.map((c) => c.file), ['blkio.weight', 'blkio.bfq.weight'], 'the first weight file that exists, as runc');
  t.same(byFile('blkio.weight_device')[0].choices.map((c) => c.file), ['blkio.weight_device', 'blkio.bfq.weight_device'],
    'a device\'s weight goes to a weight_device file, never to the cgroup\'s own weight');
  t.equal(byFile('hugetlb.2MB.rsvd.max')[0].optional, true, 'reservations only where the kernel has them');
  t.same(plan.enable, [{ controller: 'hugetlb', configPath: 'linux.resources.hugepageLimits[0]' }], 'cgroup2 parents enable hugetlb');
  t.same(plan.warnings, ['config.json: linux.resources.memory.kernel: ignored: the kernel no longer limits kernel memory apart']);
  t.equal(plan.deviceFilter, undefined, 'devices go to the v1 devices hierarchy');
  t.equal(byFile('memory.limit_in_bytes')[0].configPath, 'linux.resources.memory.limit');

  const unlimited = planCgroups(spec({ resources: { memory: { limit: -1 } } }), 'c', hybrid());
  t.same(writes(unlimited).map((l) => l.replace(/.*\//, '')), [
    'memory.memsw.limit_in_bytes=-1', 'memory.limit_in_bytes=-1', 'memory.memsw.limit_in_bytes=-1',
  ], 'unlimited memory lifts the swap limit too (where swap is accounted)');
  t.ok(unlimited.writes.every((w) => w.choices[0].file !== 'memory.memsw.limit_in_bytes' || w.optional));
  t.same(writes(planCgroups(spec({ resources: { memory: { limit: 0, swap: 0 }, cpu: { shares: 0 } } }), 'c', hybrid())), [],
    '0 is "not set" for memory and shares, as with runc');
});

t.test('device rules: deny all, the config\'s, then the defaults', async (t) => {
  const plan = planCgroups(spec({
    cgroupsPath: '/c',
    resources: { devices: [{ allow: true, type: 'c', major: 10, minor: 200, access: 'rw' }, { allow: false, type: 'b', access: 'm' }] },
  }), 'c', hybrid());
  const lines = plan.writes.map((w) => `${w.choices[0].file} ${w.choices[0].value}`);
  t.same(lines.slice(0, 4), ['devices.deny a', 'devices.allow c 10:200 rw', 'devices.deny b *:* m', 'devices.allow c *:* m']);
  t.ok(lines.includes('devices.allow c 1:3 rwm') && lines.includes('devices.allow c 136:* rwm'), '/dev/null and ptys');
  t.ok(plan.writes.every((w) => w.dir === '/sys/fs/cgroup/devices/c'));
  t.match(error(() => deviceRules([{ allow: true, access: 'rx' }])), 'config.json: linux.resources.devices[0].access: access must be some of "rwm"');
});

t.test('resources on v2: v2 files and runc\'s conversions', async (t) => {
  const plan = planCgroups(spec({ cgroupsPath: 'pod/c', resources: ALL }), 'c', v2());
  const dir = '/sys/fs/cgroup/user.slice/user-0.slice/pod/c';
  t.same(writes(plan), [
    `${dir}/cpu.weight=${sharesToWeight(512)}`,
    `${dir}/cpu.max=50000 100000`,
    `${dir}/cpuset.cpus=0-1`,
    `${dir}/cpuset.mems=0`,
    `${dir}/memory.swap.max=67108864`,
    `${dir}/memory.max=67108864`,
    `${dir}/memory.low=33554432`,
    `${dir}/pids.max=4`,
    `${dir}/io.bfq.weight=500`,
    `${dir}/io.bfq.weight=8:0 300`,
    `${dir}/io.max=8:0 rbps=1048576`,
    `${dir}/io.max=8:16 wiops=30`,
    `${dir}/hugetlb.2MB.max=4194304`,
    `${dir}/hugetlb.2MB.rsvd.max=4194304`,
  ]);
  t.equal(sharesToWeight(1024), 39);
  t.equal(sharesToWeight(2), 1);
  t.equal(sharesToWeight(262144), 10000);
  t.equal(blkioToIoWeight(500), 4950);
  t.same(plan.writes.find((w) => w.choices[0].file === 'io.bfq.weight')!.choices, [
    { file: 'io.bfq.weight', value: '500' }, { file: 'io.weight', value: '4950' },
  ]);
  t.same(plan.enable.map((e) => e.controller), ['cpu', 'cpuset', 'memory', 'pids', 'io', 'hugetlb'], 'each controller enabled in the parents');
  t.same(plan.warnings, [
    'config.json: linux.resources.memory.kernel: ignored: the kernel no longer limits kernel memory apart',
    'config.json: linux.resources.memory.swappiness: ignored: cgroup v2 has no per-cgroup swappiness',
    'config.json: linux.resources.memory.disableOOMKiller: ignored: cgroup v2 cannot turn the oom killer off',
  ]);
  t.same(plan.deviceFilter?.dir, dir, 'devices: an eBPF filter on the cgroup2 directory');
  t.equal(plan.writes.some((w) => w.choices[0].file.startsWith('devices.')), false);

  const cpuMax = (cpu: LinuxResources['cpu']) => writes(planCgroups(spec({ resources: { cpu } }), 'c', v2()))[0]?.replace(/.*\//, '');
  t.equal(cpuMax({ quota: -1 }), 'cpu.max=max 100000');
  t.equal(cpuMax({ period: 50000 }), 'cpu.max=max 50000');
  const swap = (memory: LinuxResources['memory']) => writes(planCgroups(spec({ resources: { memory } }), 'c', v2()))[0]?.replace(/.*\//, '');
  t.equal(swap({ limit: 100, swap: 100 }), 'memory.swap.max=0', 'memory+swap equal to memory: no swap');
  t.equal(swap({ limit: 100, swap: -1 }), 'memory.swap.max=max');
  t.match(error(() => swap({ swap: 100 })), 'config.json: linux.resources.memory.swap: a swap limit needs a memory limit on cgroup v2');
  t.match(error(() => swap({ limit: 100, swap: 50 })), 'must not be below the memory limit');

  const unified = planCgroups(spec({ resources: { unified: { 'memory.high': '1G', 'cgroup.max.descendants': '5' } } }), 'c', v2());
  t.same(writes(unified).map((l) => l.replace(/.*\//, '')), ['memory.high=1G', 'cgroup.max.descendants=5'], 'unified files written as given');
  t.same(unified.enable.map((e) => e.controller), ['memory']);
});

t.test('what this host cannot do is one clear error, before anything exists', async (t) => {
  const fail = (resources: LinuxResources, host = hybrid()) => error(() => planCgroups(spec({ resources }), 'c', host));
  t.equal(fail({ network: { classID: 1 } }), 'config.json: linux.resources.network.classID: net_cls is not mounted on this host');
  t.equal(fail({ network: { priorities: [{ name: 'eth0', priority: 5 }] } }), 'config.json: linux.resources.network.priorities[0]: net_prio is not mounted on this host');
  t.equal(fail({ rdma: { mlx5_1: { hcaHandles: 3 } } }), 'config.json: linux.resources.rdma["mlx5_1"]: rdma is not mounted on this host');
  t.equal(fail({ cpu: { realtimeRuntime: 950000 } }, v2()), 'config.json: linux.resources.cpu.realtimeRuntime: cgroup v2 has no realtime cpu budget');
  t.equal(fail({ pids: { limit: 5 } }, v2(['memory'])), 'config.json: linux.resources.pids: this host\'s cgroup2 hierarchy has no pids controller');
  t.equal(fail({ unified: { 'memory.high': '1G' } }),
    'config.json: linux.resources.unified["memory.high"]: cannot use unified on cgroup v1: memory is a cgroup v1 controller on this host',
    'hybrid: unified keys only for the controllers cgroup2 holds, as runc refuses them on v1');
  t.equal(fail({ unified: { 'memory.high': '1G' } }, parseCgroupHost(HYBRID_MOUNTINFO.split('\n').slice(0, 9).join('\n'), HYBRID_CGROUP, () => [])),
    'config.json: linux.resources.unified["memory.high"]: cannot use unified on cgroup v1: this host has no cgroup2 hierarchy');
  t.equal(fail({ unified: { 'rdma.max': 'mlx 1' } }), 'config.json: linux.resources.unified["rdma.max"]: this host\'s cgroup2 hierarchy has no rdma controller',
    'a controller no hierarchy holds');
  t.same(writes(planCgroups(spec({ cgroupsPath: '/r/c', resources: { unified: { 'hugetlb.2MB.max': '4194304' } } }), 'c', hybrid())).filter((l) => l.includes('hugetlb')),
    ['/sys/fs/cgroup/unified/r/c/hugetlb.2MB.max=4194304'], 'hybrid: a key of a controller cgroup2 holds is written');
  t.equal(fail({ unified: { '../x': '1' } }, v2()), 'config.json: linux.resources.unified["../x"]: must name a cgroup file such as memory.high');
  t.equal(fail({ hugepageLimits: [{ pageSize: '2MB/../x', limit: 1 }] }), 'config.json: linux.resources.hugepageLimits[0].pageSize: page size must look like 2MB or 1GB, got "2MB/../x"');
  t.equal(fail({ blockIO: { leafWeight: 10 } }, v2()), 'config.json: linux.resources.blockIO.leafWeight: cgroup v2 has no leaf weights');
  t.equal(fail({ memory: { useHierarchy: false } }, v2()), 'config.json: linux.resources.memory.useHierarchy: cgroup v2 memory accounting is always hierarchical');
  t.equal(error(() => planCgroups(spec({}), 'c', { hierarchies: [] })), 'no cgroup hierarchy is mounted on this host');
});

/** Runs a device program the way the kernel would, for the instructions deviceProgram uses. */
function runProgram(code: Buffer, type: 'b' | 'c', major: number, minor: number, access: string): number {
  const acc = [...access].reduce((a, c) => a | ({ m: 1, r: 2, w: 4 } as Record<string, number>)[c], 0);
  const ctx = [(acc << 16) | (type === 'b' ? 1 : 2), major, minor];
  const r = new Array<number>(11).fill(0);
  for (let pc = 0; pc < code.length / 8;) {
    const op = code.readUInt8(8 * pc);
    const dst = code.readUInt8(8 * pc + 1) & 0xf;
    const src = code.readUInt8(8 * pc + 1) >> 4;
    const off = code.readInt16LE(8 * pc + 2);
    const imm = code.readInt32LE(8 * pc + 4);
    pc++;
    switch (op) {
      case 0x61: r[dst] = ctx[off / 4]; break;
      case 0x54: r[dst] = (r[dst] & imm) >>> 0; break;
      case 0x74: r[dst] = r[dst] >>> imm; break;
      case 0xb4: r[dst] = imm >>> 0; break;
      case 0xbc: r[dst] = r[src]; break;
      case 0x15: if (r[dst] === imm) pc += off; break;
      case 0x55: if (r[dst] !== imm) pc += off; break;
      case 0x95: return r[0];
      default: throw new Error(`opcode ${op}`);
    }
  }
  throw new Error('fell off the end');
}

t.test('the eBPF device filter decides as v1 would', async (t) => {
  const rules = deviceRules([{ allow: true, type: 'c', major: 1, minor: 11, access: 'r' }, { allow: false, type: 'c', major: 1, minor: 9, access: 'w' }]);
  const state = emulateDevices(rules);
  t.equal(state.defaultAllow, false);
  const code = deviceProgram(state);
  const decide = (type: 'b' | 'c', major: number, minor: number, access: string) => runProgram(code, type, major, minor, access);
  t.equal(decide('c', 1, 3, 'rw'), 1, '/dev/null');
  t.equal(decide('c', 1, 11, 'r'), 1, 'kmsg read, as the config allows');
  t.equal(decide('c', 1, 11, 'w'), 0, 'kmsg write: not allowed');
  t.equal(decide('c', 1, 11, 'rw'), 0, 'an allow must cover every access asked for');
  t.equal(decide('c', 1, 9, 'w'), 1, 'the defaults come after the config\'s rules, as with runc');
  t.equal(decide('b', 8, 0, 'r'), 0, 'a disk');
  t.equal(decide('b', 8, 0, 'm'), 1, 'mknod of anything');
  t.equal(decide('c', 136, 4, 'rw'), 1, 'a pty');

  const open = deviceProgram(emulateDevices([{ allow: true, type: 'a', major: -1, minor: -1, access: 'rwm', configPath: '' },
    { allow: false, type: 'b', major: 8, minor: -1, access: 'w', configPath: '' }]));
  t.equal(runProgram(open, 'b', 8, 1, 'r'), 1, 'allow-all with a deny exception: other access allowed');
  t.equal(runProgram(open, 'b', 8, 1, 'rw'), 0, 'a deny exception matches any access it covers');
  t.equal(runProgram(open, 'c', 4, 1, 'rw'), 1);

  const revoked = emulateDevices([{ allow: false, type: 'a', major: -1, minor: -1, access: 'rwm', configPath: '' },
    { allow: true, type: 'c', major: 1, minor: 3, access: 'rw', configPath: '' },
    { allow: false, type: 'c', major: 1, minor: 3, access: 'rw', configPath: '' }]);
  t.same(revoked.exceptions, [], 'a rule agreeing with the default takes access back');
});

t.test('the intermediate joins each cgroup by writing 0 to its cgroup.procs', async (t) => {
  const e = new Emitter(99);
  emitJoinCgroups(e, spec({ cgroupsPath: '/a' }), ['/sys/fs/cgroup/memory/a/cgroup.procs', '/sys/fs/cgroup/pids/a/cgroup.procs']);
  t.same(e.p.describe(), [
    '%tmp = openat(-100, "/sys/fs/cgroup/memory/a/cgroup.procs", 524289)',
    'write(%tmp, "0", 1)',
    'close(%tmp)',
    '%tmp = openat(-100, "/sys/fs/cgroup/pids/a/cgroup.procs", 524289)',
    'write(%tmp, "0", 1)',
    'close(%tmp)',
  ]);
});
