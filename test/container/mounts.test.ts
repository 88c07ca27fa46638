import t from 'tap';
import { execFileSync, spawn } from 'node:child_process';
import {
  chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { RUNTS, Sandbox, baseConfig, sharedRootfs, until } from '../helpers/containers.js';

/** config.json's mounts and linux.rootfsPropagation, against the kernel, as root. */

const rootfs = sharedRootfs(t);

function inUserNamespace(c: any): void {
  c.linux.namespaces.push({ type: 'user' });
  c.linux.uidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
  c.linux.gidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
}

const MODES: [string, (c: any) => void][] = [['', () => {}], [' in a user namespace', inUserNamespace]];

function config(script: string, edit: (c: any) => void): any {
  const c = baseConfig(rootfs, ['sh', '-c', script]);
  c.linux.maskedPaths = [];
  c.linux.readonlyPaths = [];
  edit(c);
  return c;
}

/** Runs `script` in a container made from an `edit`ed config and returns its stdout. */
function inside(sb: Sandbox, id: string, script: string, edit: (c: any) => void): string {
  const r = sb.runts(['run', '--bundle', sb.bundle(config(script, edit)), id]);
  if (r.status !== 0) throw new Error(`run ${id} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** A host directory a user namespace's root can reach, removed at the end. */
function hostDir(t: { teardown(fn: () => void): void }, prefix = 'runts-host-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o755);
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A mount on the host for one test, detached at the end. */
function hostMount(t: { teardown(fn: () => void): void }, args: string[], target: string): void {
  execFileSync('mount', [...args, target]);
  t.teardown(() => {
    execFileSync('umount', ['-l', target]);
  });
}

interface MountLine {
  root: string;
  options: string[];
  tags: string[];
  fstype: string;
  superOptions: string[];
}

/** The mountinfo line of the top mount at each mount point. */
function mountinfo(text: string): Map<string, MountLine> {
  const mounts = new Map<string, MountLine>();
  for (const line of text.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!right) continue;
    const f = left.split(' ');
    const r = right.split(' ');
    mounts.set(f[4], { root: f[3], options: f[5].split(','), tags: f.slice(6), fstype: r[0], superOptions: (r[2] ?? '').split(',') });
  }
  return mounts;
}

/** The items of `list` that are in `wanted`, in the order of `list`. */
function only(list: string[] | undefined, wanted: string[]): string[] {
  return (list ?? []).filter((o) => wanted.includes(o));
}

for (const [mode, userns] of MODES) {
  t.test(`mount options as mountinfo shows them; tmpfs size and mode${mode}`, async (t) => {
    const sb = new Sandbox(t);
    const src = hostDir(t);
    writeFileSync(join(src, 'f'), 'bound\n');
    // A user namespace may not change the atime mode the host locked on the source.
    const bindOptions = ['rbind', 'nosuid', 'nodev', 'noexec', 'ro', ...(mode ? [] : ['noatime'])];
    const out = inside(sb, 'mounts-options', 'stat -c %a /m2 /m3; cat /b1/f; echo ---; cat /proc/self/mountinfo', (c) => {
      userns(c);
      c.mounts.push(
        { destination: '/m1', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'noexec', 'ro', 'noatime'] },
        { destination: '/m2', type: 'tmpfs', source: 'tmpfs', options: ['strictatime', 'nodiratime', 'sync', 'dirsync', 'mode=700', 'size=1m'] },
        { destination: '/m3', type: 'tmpfs', source: 'tmpfs', options: ['relatime', 'nosymfollow', 'lazytime', 'mode=711', 'nr_inodes=100'] },
        { destination: '/b1', type: 'bind', source: src, options: bindOptions },
      );
    });
    const [report, text] = out.split('---\n');
    t.same(report.trim().split('\n'), ['700', '711', 'bound'], 'tmpfs modes; the bind mount\'s file');
    const m = mountinfo(text);
    t.same(m.get('/m1')?.options, ['ro', 'nosuid', 'nodev', 'noexec', 'noatime']);
    t.same(m.get('/m2')?.options, ['rw', 'nodiratime'], 'strictatime shows as no atime option');
    t.same(only(m.get('/m2')?.superOptions, ['sync', 'dirsync', 'size=1024k', 'mode=700']), ['sync', 'dirsync', 'size=1024k', 'mode=700'], 'sync, dirsync and the tmpfs data');
    t.same(m.get('/m3')?.options, ['rw', 'relatime', 'nosymfollow']);
    t.same(only(m.get('/m3')?.superOptions, ['lazytime', 'nr_inodes=100', 'mode=711']), ['lazytime', 'nr_inodes=100', 'mode=711']);
    t.same(m.get('/b1')?.options, ['ro', 'nosuid', 'nodev', 'noexec', mode ? 'relatime' : 'noatime'], 'a bind mount remounted with its options');
  });

  t.test(`a file bind mount makes a file destination${mode}`, async (t) => {
    const sb = new Sandbox(t);
    const src = hostDir(t);
    writeFileSync(join(src, 'data.conf'), 'from the host\n');
    chmodSync(join(src, 'data.conf'), 0o644);
    // The rootfs belongs to host ids a user namespace does not map: there, into its /tmp.
    const dir = mode ? '/tmp/injected' : '/etc/injected';
    t.teardown(() => rmSync(join(rootfs, 'etc', 'injected'), { recursive: true, force: true }));
    const out = inside(sb, 'mounts-file', `cat ${dir}/data.conf; [ -f ${dir}/data.conf ] && echo is-file; ls -A ${dir}`, (c) => {
      userns(c);
      c.mounts.push({ destination: `${dir}/data.conf`, type: 'bind', source: join(src, 'data.conf'), options: ['bind', 'ro'] });
    });
    t.same(out.trim().split('\n'), ['from the host', 'is-file', 'data.conf']);
    if (!mode) t.equal(statSync(join(rootfs, 'etc', 'injected', 'data.conf')).size, 0, 'the mount point in the rootfs is an empty file');
  });

  t.test(`ro stops at submounts, rro does not${mode}`, async (t) => {
    const sb = new Sandbox(t);
    const src = hostDir(t);
    mkdirSync(join(src, 'sub'));
    hostMount(t, ['-t', 'tmpfs', '-o', 'mode=1777', 'runts-sub'], join(src, 'sub'));
    const out = inside(sb, 'mounts-rro', [
      'for f in /a/x /a/sub/x /b/x /b/sub/x; do touch $f 2>/dev/null && echo "$f writable" || echo "$f read-only"; done',
      'echo ---',
      'cat /proc/self/mountinfo',
    ].join('; '), (c) => {
      userns(c);
      c.mounts.push(
        { destination: '/a', type: 'bind', source: src, options: ['rbind', 'ro'] },
        { destination: '/b', type: 'bind', source: src, options: ['rbind', 'rro'] },
      );
    });
    const [report, text] = out.split('---\n');
    t.same(report.trim().split('\n'), ['/a/x read-only', '/a/sub/x writable', '/b/x read-only', '/b/sub/x read-only']);
    const m = mountinfo(text);
    t.equal(m.get('/a/sub')?.options[0], 'rw', 'ro leaves the submount writable');
    t.equal(m.get('/b')?.options[0], 'ro');
    t.equal(m.get('/b/sub')?.options[0], 'ro', 'rro reaches the submount');
  });

  t.test(`a symlink in the rootfs cannot lead a mount out of it${mode}`, async (t) => {
    const sb = new Sandbox(t);
    const target = hostDir(t, 'runts-escape-');
    writeFileSync(join(target, 'marker'), 'host\n');
    const src = hostDir(t);
    const absolute = join(rootfs, 'evil');
    const relative = join(rootfs, 'up');
    symlinkSync(target, absolute);
    symlinkSync(`../../../../../../..${tmpdir()}`, relative);
    t.teardown(() => {
      unlinkSync(absolute);
      unlinkSync(relative);
    });
    const out = inside(sb, 'mounts-escape', `ls -A ${target}`, (c) => {
      userns(c);
      c.root.readonly = false;
      // the container's own directory of that name, inside its /tmp
      c.mounts.push(
        { destination: target, type: 'tmpfs', source: 'tmpfs' },
        { destination: '/evil/x', type: 'tmpfs', source: 'tmpfs' },
        { destination: '/evil/y', type: 'bind', source: src, options: ['rbind'] },
        { destination: `/up/${basename(target)}/z`, type: 'tmpfs', source: 'tmpfs' },
      );
    });
    t.same(out.trim().split('\n'), ['x', 'y', 'z'], 'the mounts land in the container\'s directory');
    t.same(readdirSync(target), ['marker'], 'the host directory is untouched');
    t.notOk(readFileSync('/proc/self/mountinfo', 'utf8').includes(target), 'nothing is mounted there on the host');

    const dangling = config('true', (c) => {
      userns(c);
      c.mounts.push({ destination: '/evil/x', type: 'tmpfs', source: 'tmpfs' });
    });
    const r = sb.runts(['create', '--bundle', sb.bundle(dangling), 'mounts-dangling']);
    t.equal(r.status, 1, 'a symlink to a directory only the host has fails');
    t.match(r.stderr, /^config\.json: mounts\[\d+\]: create mount point \/evil\/x: ENOENT/, r.stderr);
    t.same(readdirSync(target), ['marker'], 'the host directory is still untouched');
  });

  t.test(`cgroup mount${mode}`, async (t) => {
    const sb = new Sandbox(t);
    const v2 = statSync('/sys/fs/cgroup').isDirectory() && existsSync('/sys/fs/cgroup/cgroup.controllers');
    const cgroup = { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] };
    const out = inside(sb, 'mounts-cgroup', 'ls /sys/fs/cgroup; echo ---; cat /proc/self/mountinfo', (c) => {
      userns(c);
      c.mounts.push(cgroup);
    });
    const [listing, text] = out.split('---\n');
    const m = mountinfo(text);
    if (v2) {
      t.equal(m.get('/sys/fs/cgroup')?.fstype, 'cgroup2');
      t.match(listing, /cgroup\.procs/);
      return;
    }
    const hierarchies = readdirSync('/sys/fs/cgroup').filter((d) => statSync(join('/sys/fs/cgroup', d)).isDirectory());
    t.same(listing.trim().split('\n').sort(), hierarchies.sort(), 'a directory per host hierarchy');
    t.equal(m.get('/sys/fs/cgroup')?.fstype, 'tmpfs');
    for (const h of hierarchies) {
      const line = m.get(`/sys/fs/cgroup/${h}`);
      t.ok(line && (line.fstype === 'cgroup' || line.fstype === 'cgroup2'), `${h} is mounted`);
      t.same(line?.options.slice(0, 4), ['ro', 'nosuid', 'nodev', 'noexec'], `${h} read-only`);
      t.equal(line?.root, '/', `${h} shows the cgroup namespace's root`);
    }
    t.equal(m.get('/sys/fs/cgroup')?.options[0], 'ro', 'the tmpfs is made read-only last');
  });

  const v2 = existsSync('/sys/fs/cgroup/cgroup.controllers') && 'a cgroup v2 host mounts cgroup2, as the test above checks';
  t.test(`cgroup mount without a cgroup namespace: the container's own cgroups, bound${mode}`, { skip: v2 }, async (t) => {
    const sb = new Sandbox(t);
    const cgroupsPath = `/runts-test-${process.pid}-cgroup-bind${mode ? '-userns' : ''}`;
    const cgroup = { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] };
    const script = 'ls /sys/fs/cgroup; echo ---; cat /sys/fs/cgroup/pids/cgroup.procs; echo ---; cat /proc/self/mountinfo';
    const out = inside(sb, 'mounts-cgroup-bind', script, (c) => {
      userns(c);
      c.linux.namespaces = c.linux.namespaces.filter((n: { type: string }) => n.type !== 'cgroup');
      c.linux.cgroupsPath = cgroupsPath;
      c.mounts.push(cgroup);
    });
    const [listing, procs, text] = out.split('---\n');
    const hierarchies = readdirSync('/sys/fs/cgroup').filter((d) => statSync(join('/sys/fs/cgroup', d)).isDirectory());
    t.same(listing.trim().split('\n').sort(), hierarchies.sort(), 'a directory per host hierarchy');
    const m = mountinfo(text);
    t.equal(m.get('/sys/fs/cgroup')?.fstype, 'tmpfs');
    for (const h of hierarchies) {
      const line = m.get(`/sys/fs/cgroup/${h}`);
      t.equal(line?.root, cgroupsPath, `${h} is a bind of the container's cgroup`);
      t.same(line?.options.slice(0, 4), ['ro', 'nosuid', 'nodev', 'noexec'], `${h} read-only`);
    }
    t.equal(m.get('/sys/fs/cgroup')?.options[0], 'ro', 'the tmpfs is made read-only last');
    t.ok(procs.trim().split('\n').includes('1'), `the container's pid 1 is in the bound cgroup: ${procs.trim()}`);
  });
}

t.test('flags the host locked on a bind source are kept in a user namespace, cleared outside one', async (t) => {
  const sb = new Sandbox(t);
  const src = hostDir(t);
  hostMount(t, ['-t', 'tmpfs', '-o', 'nosuid,nodev,noexec,mode=1777', 'runts-locked'], src);
  const mount = { destination: '/h', type: 'bind', source: src, options: ['rbind', 'ro'] };
  const plain = mountinfo(inside(sb, 'mounts-unlocked', 'cat /proc/self/mountinfo', (c) => c.mounts.push(mount)));
  t.same(plain.get('/h')?.options, ['ro', 'relatime'], 'as runc: the options given and no others');
  const userns = mountinfo(inside(sb, 'mounts-locked', 'cat /proc/self/mountinfo', (c) => {
    inUserNamespace(c);
    c.mounts.push(mount);
  }));
  t.same(userns.get('/h')?.options, ['ro', 'nosuid', 'nodev', 'noexec', 'relatime'], 'the locked flags stay');
  const r = sb.runts(['create', '--bundle', sb.bundle(config('true', (c) => {
    inUserNamespace(c);
    c.mounts.push({ ...mount, options: ['rbind', 'suid'] });
  })), 'mounts-unlock']);
  t.equal(r.status, 1, 'clearing a locked flag fails');
  t.match(r.stderr, /^config\.json: mounts\[\d+\]: set the options of \/h keeping those locked by the host: EPERM/);
});

t.test('overlay: data options pass through', async (t) => {
  const sb = new Sandbox(t);
  const dir = hostDir(t);
  for (const d of ['lower', 'upper', 'work']) mkdirSync(join(dir, d));
  writeFileSync(join(dir, 'lower', 'from-lower'), 'lower\n');
  const out = inside(sb, 'mounts-overlay', 'cat /ov/from-lower; echo new > /ov/from-container; echo ---; cat /proc/self/mountinfo', (c) => {
    c.mounts.push({
      destination: '/ov', type: 'overlay', source: 'overlay',
      options: [`lowerdir=${join(dir, 'lower')}`, `upperdir=${join(dir, 'upper')}`, `workdir=${join(dir, 'work')}`, 'nosuid'],
    });
  });
  const [report, text] = out.split('---\n');
  t.equal(report, 'lower\n');
  t.equal(readFileSync(join(dir, 'upper', 'from-container'), 'utf8'), 'new\n', 'writes go to upperdir');
  const line = mountinfo(text).get('/ov');
  t.equal(line?.fstype, 'overlay');
  t.ok(line?.superOptions.includes(`lowerdir=${join(dir, 'lower')}`), 'lowerdir as given');
  t.equal(line?.options[1], 'nosuid');
});

t.test('rootfsPropagation: the rootfs mount inside, and nothing reaches the host', async (t) => {
  const sb = new Sandbox(t);
  // A shared mount of the rootfs, as on hosts where / is shared.
  const root = hostDir(t, 'runts-shared-root-');
  hostMount(t, ['--bind', rootfs], root);
  execFileSync('mount', ['--make-shared', root]);
  const hostLine = (): MountLine | undefined => mountinfo(readFileSync('/proc/self/mountinfo', 'utf8')).get(root);
  const hostTags = hostLine()?.tags;
  t.match(hostTags, [/^shared:\d+$/], 'the host mount is shared');
  const before = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(root)).length;

  const rootTags = (propagation: string | undefined, extra: string[] = []) => {
    const c = config('cat /proc/self/mountinfo', (c) => {
      c.root.path = root;
      if (propagation) c.linux.rootfsPropagation = propagation;
    });
    const r = sb.runts(['run', ...extra, '--bundle', sb.bundle(c), `mounts-prop-${propagation ?? 'default'}${extra.length}`]);
    t.equal(r.status, 0, r.stderr);
    return mountinfo(r.stdout).get('/')?.tags ?? [];
  };
  const master = `master:${hostTags?.[0]?.split(':')[1]}`;
  t.same(rootTags(undefined), [master], 'by default a slave of the host mount');
  t.same(rootTags('slave'), [master], 'slave');
  t.same(rootTags('private'), [], 'private');
  t.same(rootTags('unbindable'), ['unbindable'], 'unbindable');
  const shared = rootTags('shared');
  t.match(shared, [/^shared:\d+$/], 'shared');
  t.not(shared[0], hostTags?.[0], 'in a new peer group, not the host\'s');
  t.match(rootTags('shared', ['--no-pivot']), [/^shared:\d+$/], 'shared with --no-pivot');
  const after = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(root)).length;
  t.equal(after, before, 'no mount propagated to the host');
});

t.test('rootfsPropagation: a host mount made under the rootfs reaches a slave, not a private rootfs', async (t) => {
  const sb = new Sandbox(t);
  const root = hostDir(t, 'runts-shared-root-');
  hostMount(t, ['--bind', rootfs], root);
  execFileSync('mount', ['--make-shared', root]);
  const point = join(rootfs, 'event');
  mkdirSync(point);
  t.teardown(() => rmSync(point, { recursive: true, force: true }));

  const seen = async (propagation: string): Promise<string> => {
    const c = config('i=0; while [ ! -e /event/flag ] && [ $i -lt 30 ]; do sleep 0.1; i=$((i+1)); done; [ -e /event/flag ] && echo seen || echo unseen', (c) => {
      c.root.path = root;
      c.linux.rootfsPropagation = propagation;
    });
    const id = `mounts-event-${propagation}`;
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    const child = spawn(RUNTS, ['--root', sb.root, 'run', '--bundle', sb.bundle(c), id], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    await until(() => sb.runts(['state', id]).stdout.includes('"running"'));
    const target = join(root, 'event');
    execFileSync('mount', ['-t', 'tmpfs', 'runts-event', target]);
    try {
      writeFileSync(join(target, 'flag'), '');
      await exited;
    } finally {
      execFileSync('umount', ['-l', target]);
    }
    return out.trim();
  };
  t.equal(await seen('slave'), 'seen', 'slave: the host mount appears inside');
  t.equal(await seen('private'), 'unseen', 'private: it does not');
});
