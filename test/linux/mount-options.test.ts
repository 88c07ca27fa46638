import t from 'tap';
import { parseMountOptions, MOUNT_OPTIONS } from '../../src/linux/mount-options.js';
import {
  MS_RDONLY,
  MS_NOSUID,
  MS_NODEV,
  MS_NOEXEC,
  MS_SYNCHRONOUS,
  MS_REMOUNT,
  MS_MANDLOCK,
  MS_DIRSYNC,
  MS_NOSYMFOLLOW,
  MS_NOATIME,
  MS_NODIRATIME,
  MS_BIND,
  MS_REC,
  MS_SILENT,
  MS_UNBINDABLE,
  MS_PRIVATE,
  MS_SLAVE,
  MS_SHARED,
  MS_RELATIME,
  MS_STRICTATIME,
  MS_LAZYTIME,
  MS_POSIXACL,
  MS_I_VERSION,
  MOUNT_ATTR_RDONLY,
  MOUNT_ATTR_NOSUID,
  MOUNT_ATTR_NODEV,
  MOUNT_ATTR_NOEXEC,
  MOUNT_ATTR__ATIME,
  MOUNT_ATTR_RELATIME,
  MOUNT_ATTR_NOATIME,
  MOUNT_ATTR_STRICTATIME,
  MOUNT_ATTR_NODIRATIME,
  MOUNT_ATTR_NOSYMFOLLOW,
} from '../../src/sys/constants.js';

t.test('no options', async (t) => {
  const empty = {
    flags: 0,
    clearFlags: 0,
    propagation: [],
    recursiveSet: 0,
    recursiveClear: 0,
    idmap: 'none',
    tmpcopyup: false,
    data: '',
  };
  t.same(parseMountOptions(undefined), empty);
  t.same(parseMountOptions([]), empty);
  t.same(parseMountOptions(['defaults']), empty, 'defaults is neither a flag nor data');
});

t.test('flags that are set', async (t) => {
  const cases: [string, number][] = [
    ['ro', MS_RDONLY],
    ['nosuid', MS_NOSUID],
    ['nodev', MS_NODEV],
    ['noexec', MS_NOEXEC],
    ['sync', MS_SYNCHRONOUS],
    ['dirsync', MS_DIRSYNC],
    ['remount', MS_REMOUNT],
    ['mand', MS_MANDLOCK],
    ['noatime', MS_NOATIME],
    ['nodiratime', MS_NODIRATIME],
    ['relatime', MS_RELATIME],
    ['strictatime', MS_STRICTATIME],
    ['lazytime', MS_LAZYTIME],
    ['nosymfollow', MS_NOSYMFOLLOW],
    ['silent', MS_SILENT],
    ['bind', MS_BIND],
    ['rbind', MS_BIND | MS_REC],
  ];
  for (const [option, flag] of cases) {
    const m = parseMountOptions([option]);
    t.equal(m.flags, flag, `${option} sets its flag`);
    t.equal(m.clearFlags, 0, `${option} clears nothing`);
    t.equal(m.data, '', `${option} is not data`);
  }
});

t.test('flags that are cleared', async (t) => {
  const cases: [string, number][] = [
    ['rw', MS_RDONLY],
    ['suid', MS_NOSUID],
    ['dev', MS_NODEV],
    ['exec', MS_NOEXEC],
    ['async', MS_SYNCHRONOUS],
    ['nomand', MS_MANDLOCK],
    ['atime', MS_NOATIME],
    ['diratime', MS_NODIRATIME],
    ['norelatime', MS_RELATIME],
    ['nostrictatime', MS_STRICTATIME],
    ['nolazytime', MS_LAZYTIME],
    ['symfollow', MS_NOSYMFOLLOW],
    ['loud', MS_SILENT],
  ];
  for (const [option, flag] of cases) {
    const m = parseMountOptions([option]);
    t.equal(m.clearFlags, flag, `${option} clears its flag`);
    t.equal(m.flags, 0, `${option} sets nothing`);
    t.equal(m.data, '', `${option} is not data`);
  }
});

t.test('the last of two opposites wins', async (t) => {
  let m = parseMountOptions(['ro', 'rw']);
  t.equal(m.flags & MS_RDONLY, 0);
  t.equal(m.clearFlags, MS_RDONLY);
  m = parseMountOptions(['rw', 'ro']);
  t.equal(m.flags, MS_RDONLY);
  t.equal(m.clearFlags & MS_RDONLY, 0);
  m = parseMountOptions(['nosuid', 'ro', 'suid', 'nodev']);
  t.equal(m.flags, MS_RDONLY | MS_NODEV);
  t.equal(m.clearFlags, MS_NOSUID);
});

t.test('flags combine', async (t) => {
  const m = parseMountOptions(['nosuid', 'noexec', 'nodev', 'relatime', 'ro']);
  t.equal(m.flags, MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RELATIME | MS_RDONLY);
});

t.test('data keeps its order', async (t) => {
  const m = parseMountOptions(['nosuid', 'mode=755', 'strictatime', 'size=65536k', 'uid=0']);
  t.equal(m.data, 'mode=755,size=65536k,uid=0');
  t.equal(m.flags, MS_NOSUID | MS_STRICTATIME);
  t.equal(parseMountOptions(['newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5']).data, 'newinstance,ptmxmode=0666,mode=0620,gid=5');
  t.equal(parseMountOptions(['toString', 'constructor']).data, 'toString,constructor', 'names of object properties are data');
});

t.test('propagation keeps its order', async (t) => {
  const cases: [string, number][] = [
    ['shared', MS_SHARED],
    ['rshared', MS_SHARED | MS_REC],
    ['slave', MS_SLAVE],
    ['rslave', MS_SLAVE | MS_REC],
    ['private', MS_PRIVATE],
    ['rprivate', MS_PRIVATE | MS_REC],
    ['unbindable', MS_UNBINDABLE],
    ['runbindable', MS_UNBINDABLE | MS_REC],
  ];
  for (const [option, flag] of cases) {
    const m = parseMountOptions([option]);
    t.same(m.propagation, [flag], option);
    t.equal(m.flags, 0, `${option} is no mount flag`);
  }
  const m = parseMountOptions(['rbind', 'rshared', 'ro', 'rslave', 'private']);
  t.same(m.propagation, [MS_SHARED | MS_REC, MS_SLAVE | MS_REC, MS_PRIVATE]);
  t.equal(m.flags, MS_BIND | MS_REC | MS_RDONLY);
});

t.test('recursive bits', async (t) => {
  const cases: [string, number, boolean][] = [
    ['rro', MOUNT_ATTR_RDONLY, false],
    ['rrw', MOUNT_ATTR_RDONLY, true],
    ['rnosuid', MOUNT_ATTR_NOSUID, false],
    ['rsuid', MOUNT_ATTR_NOSUID, true],
    ['rnodev', MOUNT_ATTR_NODEV, false],
    ['rdev', MOUNT_ATTR_NODEV, true],
    ['rnoexec', MOUNT_ATTR_NOEXEC, false],
    ['rexec', MOUNT_ATTR_NOEXEC, true],
    ['rnodiratime', MOUNT_ATTR_NODIRATIME, false],
    ['rdiratime', MOUNT_ATTR_NODIRATIME, true],
    ['rnosymfollow', MOUNT_ATTR_NOSYMFOLLOW, false],
    ['rsymfollow', MOUNT_ATTR_NOSYMFOLLOW, true],
  ];
  for (const [option, attr, clear] of cases) {
    const m = parseMountOptions([option]);
    t.equal(m.recursiveSet, clear ? 0 : attr, `${option} set`);
    t.equal(m.recursiveClear, clear ? attr : 0, `${option} clear`);
    t.equal(m.flags, 0, `${option} is no mount flag`);
    t.equal(m.data, '', `${option} is not data`);
  }
  let m = parseMountOptions(['rro', 'rnosuid', 'rrw']);
  t.equal(m.recursiveSet, MOUNT_ATTR_NOSUID, 'rrw after rro wins');
  t.equal(m.recursiveClear, MOUNT_ATTR_RDONLY);
  m = parseMountOptions(['rrw', 'rro']);
  t.equal(m.recursiveSet, MOUNT_ATTR_RDONLY, 'rro after rrw wins');
  t.equal(m.recursiveClear, 0);
  m = parseMountOptions(['rro', 'ro']);
  t.equal(m.recursiveSet, MOUNT_ATTR_RDONLY, 'ro and rro are independent');
  t.equal(m.flags, MS_RDONLY);
});

t.test('recursive atime is one mode with all of MOUNT_ATTR__ATIME cleared', async (t) => {
  const cases: [string[], number][] = [
    [['rrelatime'], MOUNT_ATTR_RELATIME],
    [['rnoatime'], MOUNT_ATTR_NOATIME],
    [['rstrictatime'], MOUNT_ATTR_STRICTATIME],
    [['ratime'], MOUNT_ATTR_RELATIME],
    [['rnostrictatime'], MOUNT_ATTR_RELATIME],
    [['rnorelatime'], MOUNT_ATTR_STRICTATIME],
    [['rnoatime', 'rstrictatime'], MOUNT_ATTR_STRICTATIME],
    [['rstrictatime', 'rnoatime'], MOUNT_ATTR_NOATIME],
    [['rnoatime', 'ratime'], MOUNT_ATTR_RELATIME],
    [['rstrictatime', 'ratime'], MOUNT_ATTR_STRICTATIME],
    [['rstrictatime', 'rnostrictatime'], MOUNT_ATTR_RELATIME],
    [['rnoatime', 'rnostrictatime'], MOUNT_ATTR_NOATIME],
    [['rrelatime', 'rnorelatime'], MOUNT_ATTR_STRICTATIME],
    [['rnoatime', 'rnorelatime'], MOUNT_ATTR_NOATIME],
  ];
  for (const [options, mode] of cases) {
    const m = parseMountOptions(options);
    t.equal(m.recursiveSet & MOUNT_ATTR__ATIME, mode, options.join(','));
    t.equal(m.recursiveClear & MOUNT_ATTR__ATIME, MOUNT_ATTR__ATIME, `${options.join(',')} clears the whole atime mask`);
  }
  const m = parseMountOptions(['rro', 'rnoatime', 'rnodiratime']);
  t.equal(m.recursiveSet, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOATIME | MOUNT_ATTR_NODIRATIME);
  t.equal(m.recursiveClear, MOUNT_ATTR__ATIME);
  t.equal(parseMountOptions(['rro']).recursiveClear & MOUNT_ATTR__ATIME, 0, 'no atime option leaves atime alone');
});

t.test('idmap', async (t) => {
  t.equal(parseMountOptions(['idmap']).idmap, 'idmap');
  t.equal(parseMountOptions(['ridmap']).idmap, 'ridmap');
  t.equal(parseMountOptions(['rbind', 'ro']).idmap, 'none');
  t.equal(parseMountOptions(['idmap']).data, '', 'idmap is not passed to mount(2)');
});

t.test('MOUNT_OPTIONS lists every recognised option once, and nothing that is data', async (t) => {
  t.equal(new Set(MOUNT_OPTIONS).size, MOUNT_OPTIONS.length);
  t.same([...MOUNT_OPTIONS], [...MOUNT_OPTIONS].sort());
  for (const option of MOUNT_OPTIONS) t.equal(parseMountOptions([option]).data, '', option);
  for (const option of ['ro', 'rw', 'rbind', 'rprivate', 'rro', 'rnoatime', 'idmap', 'ridmap', 'defaults', 'nosymfollow']) {
    t.ok(MOUNT_OPTIONS.includes(option), option);
  }
  // every option of runc's `features` (1.2)
  const runc = [
    'acl', 'async', 'atime', 'bind', 'defaults', 'dev', 'diratime', 'dirsync', 'exec', 'iversion', 'lazytime', 'loud', 'mand',
    'noacl', 'noatime', 'nodev', 'nodiratime', 'noexec', 'noiversion', 'nolazytime', 'nomand', 'norelatime', 'nostrictatime',
    'nosuid', 'nosymfollow', 'private', 'ratime', 'rbind', 'rdev', 'rdiratime', 'relatime', 'remount', 'rexec', 'rnoatime',
    'rnodev', 'rnodiratime', 'rnoexec', 'rnorelatime', 'rnostrictatime', 'rnosuid', 'rnosymfollow', 'ro', 'rprivate',
    'rrelatime', 'rro', 'rrw', 'rshared', 'rslave', 'rstrictatime', 'rsuid', 'rsymfollow', 'runbindable', 'rw', 'shared',
    'silent', 'slave', 'strictatime', 'suid', 'symfollow', 'sync', 'tmpcopyup', 'unbindable',
  ];
  t.same(runc.filter((o) => !MOUNT_OPTIONS.includes(o)), [], 'runc\'s options are all known');
  t.equal(parseMountOptions(['tmpcopyup']).tmpcopyup, true, 'tmpcopyup is runc\'s extension, not data');
  t.equal(parseMountOptions(['acl', 'iversion']).flags, MS_POSIXACL | MS_I_VERSION);
  t.equal(parseMountOptions(['acl', 'noacl']).clearFlags, MS_POSIXACL);
  t.notOk(MOUNT_OPTIONS.includes('mode=755'));
});
