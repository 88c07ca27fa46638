import t from 'tap';
import {
  deviceProperties, expandSlice, listToMask, parseProcDevices, quotaPerSecond, resourceProperties, scopeProperties, systemdScope,
  type ManagerFacts, type UnitProperty,
} from '../../src/linux/cgroups/systemd.js';
import { splitSignature, userBusAddress } from '../../src/sys/sdbus.js';
import { RuntsError } from '../../src/errors.js';

/** The systemd driver's planning: names and properties, compared with what runc gives. */

const INF = 0xffffffffffffffffn;
const DEVICES = parseProcDevices('Character devices:\n  1 mem\n  5 /dev/tty\n136 pts\n\nBlock devices:\n  8 sd\n');
const V2: ManagerFacts = { version: 252, cgroupVersion: 2, devices: DEVICES };
const V1: ManagerFacts = { version: 252, cgroupVersion: 1, devices: DEVICES };

const props = (list: UnitProperty[]) => Object.fromEntries(list.map(([name, v]) => [name, v.value]));

t.test('slices expand as systemd names their cgroups (runc ExpandSlice)', async (t) => {
  t.equal(expandSlice('system.slice'), '/system.slice');
  t.equal(expandSlice('-.slice'), '/');
  t.equal(expandSlice('a-b-c.slice'), '/a.slice/a-b.slice/a-b-c.slice');
  t.equal(expandSlice('kubepods-besteffort-pod1234.slice'), '/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1234.slice');
  for (const bad of ['.slice', 'a', 'a/b.slice', 'a--b.slice', '-a.slice', 'a-.slice', 'system.scope']) {
    t.throws(() => expandSlice(bad), { message: /invalid slice name/, configPath: 'linux.cgroupsPath' }, bad);
  }
});

t.test('cgroupsPath as slice:prefix:name, with runc\'s defaults', async (t) => {
  t.same(systemdScope(undefined, 'c1'), { slice: 'system.slice', unit: 'runts-c1.scope', path: '/system.slice/runts-c1.scope', manager: 'system' });
  t.same(systemdScope('', 'c1', 'user').path, '/user.slice/runts-c1.scope');
  t.same(systemdScope('machine.slice:libpod:abc', 'x'), { slice: 'machine.slice', unit: 'libpod-abc.scope', path: '/machine.slice/libpod-abc.scope', manager: 'system' });
  t.equal(systemdScope('kubepods-burstable-podu1.slice:cri-containerd:id9', 'x').path,
    '/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podu1.slice/cri-containerd-id9.scope');
  t.equal(systemdScope(':p:n', 'x').path, '/system.slice/p-n.scope', 'an empty slice is the default one');
  t.equal(systemdScope('-.slice:p:n', 'x').path, '/p-n.scope');
  t.throws(() => systemdScope('/sys/fs/cgroup/foo', 'x'), { message: /expected cgroupsPath to be of format "slice:prefix:name"/ });
  t.throws(() => systemdScope('a.slice:p', 'x'), RuntsError);
  t.throws(() => systemdScope('a.slice:p:n/../x', 'x'), { message: /invalid unit name/ });
  t.throws(() => systemdScope('a.slice:p:', 'x'), { message: /invalid unit name/ });
  t.throws(() => systemdScope('a.slice:p:n.slice', 'x'), { message: /must be a scope/ });
  t.throws(() => systemdScope(`a.slice:p:${'x'.repeat(260)}`, 'x'), { message: /invalid unit name/ });
});

t.test('a scope holds the pid, is delegated and has no default dependencies', async (t) => {
  const scope = systemdScope(undefined, 'c1');
  const p = props(scopeProperties(scope, 'c1', 4242, [], 2));
  t.same(p.PIDs, [4242]);
  t.equal(p.Slice, 'system.slice');
  t.equal(p.Delegate, true);
  t.equal(p.DefaultDependencies, false);
  t.equal(p.IOAccounting, true);
  t.equal(props(scopeProperties(scope, 'c1', 1, [], 1)).BlockIOAccounting, true);
});

t.test('resources as unit properties, v2 and v1', async (t) => {
  const r = {
    memory: { limit: 100 << 20, reservation: 50 << 20, swap: 200 << 20 },
    cpu: { shares: 1024, quota: 50000, period: 100000, cpus: '0-2,5', mems: '0' },
    pids: { limit: 10 },
    blockIO: { weight: 500 },
  };
  const v2 = props(resourceProperties(r, V2));
  t.equal(v2.MemoryMax, BigInt(100 << 20));
  t.equal(v2.MemoryLow, BigInt(50 << 20));
  t.equal(v2.MemorySwapMax, BigInt(100 << 20), 'memory+swap becomes swap alone');
  t.equal(v2.CPUWeight, 39n, 'shares 1024 is weight 39, as runc converts');
  t.equal(v2.CPUQuotaPeriodUSec, 100000n);
  t.equal(v2.CPUQuotaPerSecUSec, 500000n);
  t.same([...(v2.AllowedCPUs as Uint8Array)], [0b100111]);
  t.same([...(v2.AllowedMemoryNodes as Uint8Array)], [1]);
  t.equal(v2.TasksMax, 10n);
  t.equal(v2.IOWeight, 4950n);
  const v1 = props(resourceProperties(r, V1));
  t.equal(v1.MemoryLimit, BigInt(100 << 20));
  t.equal(v1.CPUShares, 1024n);
  t.equal(v1.BlockIOWeight, 500n);
  t.notOk('MemoryMax' in v1);
  t.equal(props(resourceProperties({ memory: { limit: -1 }, pids: { limit: -1 } }, V2)).MemoryMax, INF, '-1 is infinity');
  t.notOk('TasksMax' in props(resourceProperties({ pids: { limit: 0 } }, V2)), 'pids 0 is not given to systemd, as runc');
  const old = props(resourceProperties(r, { ...V2, version: 241 }));
  t.notOk('CPUQuotaPeriodUSec' in old, 'systemd before 242 has no CPUQuotaPeriodUSec');
  t.notOk('AllowedCPUs' in old, 'nor AllowedCPUs before 244');
});

t.test('CPUQuotaPerSecUSec rounds up to whole 10 ms, as runc', async (t) => {
  t.equal(quotaPerSecond(undefined, undefined), undefined);
  t.equal(quotaPerSecond(50000, 100000), 500000n);
  t.equal(quotaPerSecond(12345, 100000), 130000n);
  t.equal(quotaPerSecond(-1, 100000), INF);
  t.equal(quotaPerSecond(undefined, 50000), INF, 'a period alone lifts the quota');
  t.equal(quotaPerSecond(25000, undefined), 250000n, 'the default period is 100 ms');
});

t.test('unified entries systemd has properties for', async (t) => {
  const p = props(resourceProperties({ unified: { 'memory.high': '1000000', 'pids.max': 'max', 'cpu.max': '20000 50000', 'io.weight': '100' } }, V2));
  t.equal(p.MemoryHigh, 1000000n);
  t.equal(p.TasksMax, INF);
  t.equal(p.CPUQuotaPerSecUSec, 400000n);
  t.equal(p.CPUQuotaPeriodUSec, 50000n);
  t.throws(() => resourceProperties({ unified: { 'memory.max': 'lots' } }, V2), { message: /not a number of bytes/, configPath: 'linux.resources.unified.memory.max' });
});

t.test('device rules as DevicePolicy and DeviceAllow', async (t) => {
  const p = props(deviceProperties(undefined, DEVICES));
  t.equal(p.DevicePolicy, 'strict');
  const allow = p.DeviceAllow as [string, string][];
  t.same(allow.find(([n]) => n === '/dev/char/1:3'), ['/dev/char/1:3', 'rwm'], 'null');
  t.same(allow.find(([n]) => n === 'char-pts'), ['char-pts', 'rwm'], 'ptys by driver name');
  t.same(allow.find(([n]) => n === 'char-*'), ['char-*', 'm'], 'mknod of any char device');
  const custom = props(deviceProperties({ devices: [{ allow: true, type: 'b', major: 8, access: 'r' }, { allow: true, type: 'c', major: 250, access: 'rw' }] }, DEVICES));
  const list = custom.DeviceAllow as [string, string][];
  t.same(list.find(([n]) => n === 'block-sd'), ['block-sd', 'r']);
  t.notOk(list.some(([n]) => n.includes('250')), 'a major with no driver has nothing to allow');
  t.same(props(deviceProperties({ devices: [{ allow: true, access: 'rwm' }] }, DEVICES)), { DevicePolicy: 'auto' }, 'allow all');
});

t.test('cpuset lists as masks', async (t) => {
  t.same([...listToMask('0', 'x')], [1]);
  t.same([...listToMask('8-9', 'x')], [0, 3]);
  t.same([...listToMask('1,3', 'x')], [0b1010]);
  for (const bad of ['', 'a', '3-1', '0-99999']) t.throws(() => listToMask(bad, 'linux.resources.cpu.cpus'), { message: /invalid cpuset list/, configPath: 'linux.resources.cpu.cpus' }, bad);
});

t.test('D-Bus signatures split into complete types', async (t) => {
  t.same(splitSignature('ssa(sv)a(sa(sv))'), ['s', 's', 'a(sv)', 'a(sa(sv))']);
  t.same(splitSignature('sba(sv)'), ['s', 'b', 'a(sv)']);
  t.same(splitSignature('a{sv}au'), ['a{sv}', 'au']);
  t.throws(() => splitSignature('a'));
});

t.test('the user bus is found as runc finds it', async (t) => {
  t.equal(userBusAddress({ DBUS_SESSION_BUS_ADDRESS: 'unix:path=/tmp/b', XDG_RUNTIME_DIR: '/run/user/1000' }), 'unix:path=/tmp/b', 'DBUS_SESSION_BUS_ADDRESS first');
  t.equal(userBusAddress({ XDG_RUNTIME_DIR: '/run/user/1000' }), 'unix:path=/run/user/1000/bus');
  t.equal(userBusAddress({ XDG_RUNTIME_DIR: '/run/a b,c=d' }), 'unix:path=/run/a%20b%2cc%3dd/bus', 'escaped as D-Bus addresses are');
  t.throws(() => userBusAddress({}), { message: /neither DBUS_SESSION_BUS_ADDRESS nor XDG_RUNTIME_DIR is set/ });
});
