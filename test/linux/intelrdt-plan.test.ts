import t from 'tap';
import { findResctrlMount, planIntelRdt, schemataMismatch } from '../../src/linux/intelrdt.js';

/**
 * linux.intelRdt planned from the config alone (config-linux.md "IntelRdt"): which group,
 * made, compared or required, the lines in their order, the MON group, what delete
 * removes; the schemata comparison on what the kernel prints; mountinfo. No root needed.
 */

const M = '/sys/fs/resctrl';

t.test('closID unset: a group named after the container, made, written, removed at delete', async (t) => {
  t.same(planIntelRdt({ l3CacheSchema: 'L3:0=f' }, 'c1', M), {
    mount: M, group: `${M}/c1`, absent: 'make', present: 'write',
    lines: [{ line: 'L3:0=f', configPath: 'linux.intelRdt.l3CacheSchema' }],
    monGroup: undefined, groupRemovable: true,
  });
  const bare = planIntelRdt({}, 'c1', M);
  t.same([bare.group, bare.absent, bare.lines], [`${M}/c1`, 'make', []], 'no schemata: made, nothing written');
  t.same(planIntelRdt({ l3CacheSchema: '', memBwSchema: '' }, 'c1', M).lines, [], 'an empty schema is unset');
});

t.test('l3CacheSchema first, memBwSchema next, then each schemata line', async (t) => {
  const plan = planIntelRdt({ schemata: ['L2:0=f', 'MB:0=70'], memBwSchema: 'MB:0=20', l3CacheSchema: 'L3:0=7f0' }, 'c', M);
  t.same(plan.lines, [
    { line: 'L3:0=7f0', configPath: 'linux.intelRdt.l3CacheSchema' },
    { line: 'MB:0=20', configPath: 'linux.intelRdt.memBwSchema' },
    { line: 'L2:0=f', configPath: 'linux.intelRdt.schemata[0]' },
    { line: 'MB:0=70', configPath: 'linux.intelRdt.schemata[1]' },
  ]);
});

t.test('closID with schemata: made when absent, compared when present, never removed', async (t) => {
  const plan = planIntelRdt({ closID: 'guaranteed_group', schemata: ['L3:0=7f0;1=1f'] }, 'c', M);
  t.same([plan.group, plan.absent, plan.present, plan.groupRemovable], [`${M}/guaranteed_group`, 'make', 'compare', false]);
  const mb = planIntelRdt({ closID: 'g', memBwSchema: 'MB:0=20' }, 'c', M);
  t.equal(mb.present, 'compare', 'memBwSchema alone counts as schemata');
});

t.test('closID without schemata: must exist, joined as it is', async (t) => {
  const plan = planIntelRdt({ closID: 'pre' }, 'c', M);
  t.same([plan.group, plan.absent, plan.present, plan.lines, plan.groupRemovable], [`${M}/pre`, 'fail', 'join', [], false]);
});

t.test('closID "/" is the root group: never made nor removed', async (t) => {
  t.same(planIntelRdt({ closID: '/' }, 'c', M), {
    mount: M, group: M, absent: 'fail', present: 'join', lines: [], monGroup: undefined, groupRemovable: false,
  });
  const cmp = planIntelRdt({ closID: '/', l3CacheSchema: 'L3:0=7ff' }, 'c', M);
  t.same([cmp.group, cmp.present, cmp.groupRemovable], [M, 'compare', false]);
});

t.test('enableMonitoring: mon_groups/<container-id> below the group', async (t) => {
  t.equal(planIntelRdt({ enableMonitoring: true }, 'c1', M).monGroup, `${M}/c1/mon_groups/c1`);
  t.equal(planIntelRdt({ closID: 'shared', enableMonitoring: true }, 'c1', M).monGroup, `${M}/shared/mon_groups/c1`);
  t.equal(planIntelRdt({ closID: '/', enableMonitoring: true }, 'c1', M).monGroup, `${M}/mon_groups/c1`);
  t.equal(planIntelRdt({ enableMonitoring: false }, 'c1', M).monGroup, undefined);
});

t.test('a closID that is not one group name is refused', async (t) => {
  for (const closID of ['a/b', '..', '.', 'info', 'mon_groups', 'mon_data', '', '/x']) {
    t.throws(() => planIntelRdt({ closID }, 'c', M), { configPath: 'linux.intelRdt.closID', message: /does not name a resctrl group/ }, JSON.stringify(closID));
  }
});

const KERNEL = '    L3:0=7ff;1=7ff\n    MB:0=100;1=100\n';

t.test('schemata compared as the kernel prints them: padded names, hex masks normalized', async (t) => {
  t.equal(schemataMismatch(KERNEL, ['L3:0=7ff;1=7ff']), undefined, 'one resource of two');
  t.equal(schemataMismatch(KERNEL, ['L3:0=07FF;1=0x7ff', 'MB:0=100;1=100']), undefined, 'leading zeros, upper case, 0x');
  t.equal(schemataMismatch(KERNEL, ['L3: 1 = 7ff ; 0=7ff;']), undefined, 'spaces and order');
  t.equal(schemataMismatch(KERNEL, ['MB:1=100']), undefined, 'one domain of two');
  t.equal(schemataMismatch(KERNEL, ['L3:0=7f0']), 'L3 domain 0 is 7ff, not 7f0');
  t.equal(schemataMismatch(KERNEL, ['MB:0=20;1=100']), 'MB domain 0 is 100, not 20');
  t.equal(schemataMismatch(KERNEL, ['L2:0=f']), 'it has no L2 line');
  t.equal(schemataMismatch(KERNEL, ['L3:2=7ff']), 'its L3 line has no domain 2');
  t.equal(schemataMismatch(KERNEL, ['L3:0=zz']), 'L3 domain 0 is 7ff, not zz');
  t.equal(schemataMismatch(KERNEL, ['L3']), '"L3" is not a schemata line (RESOURCE:DOMAIN=VALUE;…)');
  t.equal(schemataMismatch(KERNEL, ['L3:0=7ff=1']), '"L3:0=7ff=1" is not a schemata line (RESOURCE:DOMAIN=VALUE;…)');
  t.equal(schemataMismatch(KERNEL, []), undefined, 'nothing wanted, nothing to differ');
});

t.test('a later line for a resource overrides the earlier one, as writing both would', async (t) => {
  t.equal(schemataMismatch(KERNEL, ['L3:0=f;1=f', 'L3:0=7ff;1=7ff']), undefined);
  t.equal(schemataMismatch(KERNEL, ['L3:0=7ff;1=7ff', 'L3:1=f']), 'L3 domain 1 is 7ff, not f');
});

t.test('CDP and L2 masks are hex; MB values decimal', async (t) => {
  const cdp = 'L3CODE:0=fffff;1=fffff\nL3DATA:0=fffff;1=fffff\n    L2:0=ff\n';
  t.equal(schemataMismatch(cdp, ['L3DATA:0=000fffff', 'L2:0=0ff']), undefined);
  t.equal(schemataMismatch(cdp, ['L3:0=fffff']), 'it has no L3 line');
  t.equal(schemataMismatch('MB:0=2048;1=2048\n', ['MB:0=02048']), undefined);
});

t.test('the resctrl mount from mountinfo', async (t) => {
  const info = [
    '22 1 259:1 / / rw,relatime shared:1 - ext4 /dev/root rw',
    '31 22 0:26 / /sys rw,nosuchfs shared:7 - sysfs sysfs rw',
    '45 31 0:40 / /sys/fs/resctrl rw,relatime shared:20 - resctrl resctrl rw,cdp,mba_MBps',
    '46 22 0:41 / /mnt/other\\040rdt rw - resctrl resctrl rw',
  ].join('\n');
  t.equal(findResctrlMount(info), '/sys/fs/resctrl', 'the first');
  t.equal(findResctrlMount(info.split('\n').filter((l) => !l.includes('/sys/fs/resctrl')).join('\n')), '/mnt/other rdt', 'octal escapes undone');
  t.equal(findResctrlMount('22 1 259:1 / / rw shared:1 - ext4 /dev/root rw\n'), undefined, 'none');
  t.equal(findResctrlMount('50 22 0:50 / /mnt/x rw - fuse.resctrl x rw\n'), undefined, 'another type whose name contains it');
  t.equal(findResctrlMount('51 22 0:51 / /srv/resctrl rw shared:3 master:2 - tmpfs resctrl rw\n'), undefined, 'a source named resctrl');
});
