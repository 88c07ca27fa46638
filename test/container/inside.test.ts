import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readlinkSync, statSync } from 'node:fs';
import { Sandbox, baseConfig, sharedRootfs, until } from '../helpers/containers.js';

const rootfs = sharedRootfs(t);

/** Runs `script` in a container made from `edit`ed config and returns its stdout. */
function inside(sb: Sandbox, id: string, script: string, edit: (c: any) => void = () => {}, extra: string[] = []): string {
  const config = baseConfig(rootfs, ['sh', '-c', script]);
  edit(config);
  const r = sb.runts(['run', ...extra, '--bundle', sb.bundle(config), id]);
  if (r.status !== 0) throw new Error(`run ${id} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

t.test('pid 1, hostname, env, cwd and user', async (t) => {
  const sb = new Sandbox(t);
  const out = inside(sb, 'basics', 'echo pid=$$; hostname; echo cwd=$(pwd); echo foo=$FOO; id -u; id -g; id -G; cat /proc/sys/kernel/domainname', (c) => {
    c.hostname = 'box-under-test';
    c.domainname = 'domain.under.test';
    c.process.env = ['PATH=/bin', 'FOO=bar baz'];
    c.process.cwd = '/tmp/work/dir';
    c.process.user = { uid: 1234, gid: 5678, additionalGids: [42] };
    c.root.readonly = false;
  }).split('\n');
  t.equal(out[0], 'pid=1', 'the process is pid 1 of a new pid namespace');
  t.equal(out[1], 'box-under-test', 'hostname of a new uts namespace');
  t.equal(out[2], 'cwd=/tmp/work/dir', 'process.cwd, created when missing');
  t.equal(out[3], 'foo=bar baz', 'process.env as given');
  t.equal(out[4], '1234', 'process.user.uid');
  t.equal(out[5], '5678', 'process.user.gid');
  t.same(out[6].split(' ').sort(), ['42', '5678'], 'additionalGids and nothing of the host');
  t.equal(out[7], 'domain.under.test', 'domainname of the new uts namespace');
  t.not(readFileSync('/proc/sys/kernel/domainname', 'utf8').trim(), 'domain.under.test', 'the host keeps its own');
});

t.test('a new time namespace with linux.timeOffsets', async (t) => {
  const sb = new Sandbox(t);
  const days = 10 * 86400;
  const out = inside(sb, 'timens', 'cat /proc/self/timens_offsets; cut -d. -f1 /proc/uptime', (c) => {
    c.linux.namespaces.push({ type: 'time' });
    c.linux.timeOffsets = { monotonic: { secs: days, nanosecs: 0 }, boottime: { secs: days, nanosecs: 5 } };
  }).trim().split('\n');
  t.match(out[0], new RegExp(`^monotonic\\s+${days}\\s+0$`), 'monotonic offset');
  t.match(out[1], new RegExp(`^boottime\\s+${days}\\s+5$`), 'boottime offset');
  const hostUptime = Number(readFileSync('/proc/uptime', 'utf8').split('.')[0]);
  t.ok(Number(out[2]) >= days + hostUptime - 5, `uptime inside (${out[2]} s) is the host's (${hostUptime} s) plus ten days`);
  t.match(readFileSync('/proc/self/timens_offsets', 'utf8'), /^monotonic\s+0\s+0$/m, 'the host has no offset');
});

t.test('nothing inherited from the runtime: env, fds, signal mask and dispositions', async (t) => {
  const sb = new Sandbox(t);
  const direct = (id: string, args: string[]) => {
    const r = sb.runts(['run', '--bundle', sb.bundle(baseConfig(rootfs, args)), id]);
    t.equal(r.status, 0, r.stderr);
    return r.stdout;
  };
  t.same(direct('env', ['cat', '/proc/self/environ']).split('\0').filter(Boolean), ['PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'], 'exactly process.env, nothing of the host');
  // ls holds one more fd (3) for the directory it lists
  t.same(direct('fds', ['ls', '/proc/self/fd']).trim().split('\n'), ['0', '1', '2', '3'], 'only stdio');
  const status = direct('sigs', ['cat', '/proc/self/status']);
  t.match(status, /SigBlk:\s+0+\n/, 'empty signal mask');
  t.match(status, /SigIgn:\s+0+\n/, 'no ignored signals (Node ignores SIGPIPE)');
  t.match(status, /SigCgt:\s+0+\n/, 'no handlers');
});

t.test('mount table: the config\'s mounts and no host mounts', async (t) => {
  const sb = new Sandbox(t);
  const out = inside(sb, 'mounts', 'cat /proc/self/mountinfo', (c) => {
    c.linux.maskedPaths = [];
    c.linux.readonlyPaths = [];
  });
  const points = out.trim().split('\n').map((l) => l.split(' ')[4]);
  t.same(points, ['/', '/proc', '/dev', '/dev/pts', '/dev/shm', '/dev/mqueue', '/sys', '/tmp'], 'exactly the rootfs and config.json mounts, in order');
  t.match(out.split('\n')[0], / \/ ro,/, 'root.readonly');
  const dev = inside(sb, 'devices', 'ls -l /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty; readlink /dev/ptmx; readlink /dev/fd; echo x > /dev/null && echo null-ok');
  t.match(dev, /crw-rw-rw-\s+1 root\s+root\s+1,\s+3 .* \/dev\/null/, 'default device /dev/null');
  t.match(dev, /1,\s+9 .* \/dev\/urandom/);
  t.match(dev, /5,\s+0 .* \/dev\/tty/);
  t.match(dev, /pts\/ptmx\n\/proc\/self\/fd\n/, '/dev/ptmx and /dev/fd links');
  t.match(dev, /null-ok/);
});

t.test('user namespace with the uid map asked for; host /dev/null untouched', async (t) => {
  const sb = new Sandbox(t);
  const before = statSync('/dev/null');
  const out = inside(sb, 'userns', 'cat /proc/self/uid_map /proc/self/gid_map; id -u; echo x > /dev/null && echo null-ok', (c) => {
    c.linux.namespaces.push({ type: 'user' });
    c.linux.uidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
    c.linux.gidMappings = [{ containerID: 0, hostID: 300000, size: 1000 }];
  });
  const lines = out.trim().split('\n').map((l) => l.trim().split(/\s+/).join(' '));
  t.equal(lines[0], '0 200000 65536', 'uid_map');
  t.equal(lines[1], '0 300000 1000', 'gid_map');
  t.equal(lines[2], '0', 'root in the namespace');
  t.equal(lines[3], 'null-ok', '/dev/null works (bind-mounted from the host)');
  const after = statSync('/dev/null');
  t.equal(after.uid, 0, 'host /dev/null owner unchanged');
  t.equal(after.gid, 0);
  t.equal(after.mode, before.mode, 'host /dev/null mode unchanged');
});

t.test('joining namespaces by path: the inode numbers are those of the given paths', async (t) => {
  const sb = new Sandbox(t);
  // A holder process with its own namespaces to join.
  const holder: ChildProcess = spawn('unshare', ['--net', '--uts', '--ipc', '--user', '--map-root-user', 'sleep', '1000'], { stdio: 'ignore' });
  t.teardown(() => {
    holder.kill('SIGKILL');
  });
  const pid = holder.pid!;
  await until(() => {
    try {
      return readlinkSync(`/proc/${pid}/ns/net`) !== readlinkSync('/proc/self/ns/net');
    } catch {
      return false;
    }
  });
  const types: [string, string][] = [['network', 'net'], ['uts', 'uts'], ['ipc', 'ipc'], ['user', 'user']];
  const out = inside(sb, 'joined', types.map(([, p]) => `readlink /proc/self/ns/${p}`).join('; '), (c) => {
    c.linux.namespaces = c.linux.namespaces.filter((n: { type: string }) => !types.some(([t]) => t === n.type));
    for (const [type, p] of types) c.linux.namespaces.push({ type, path: `/proc/${pid}/ns/${p}` });
    delete c.hostname;
  });
  t.same(out.trim().split('\n'), types.map(([, p]) => readlinkSync(`/proc/${pid}/ns/${p}`)), 'joined network, uts, ipc and user namespaces');

  const wrong = baseConfig(rootfs, ['true']);
  wrong.linux.namespaces = wrong.linux.namespaces.filter((n: { type: string }) => n.type !== 'network');
  wrong.linux.namespaces.push({ type: 'network', path: `/proc/${pid}/ns/uts` });
  const r = sb.runts(['create', '--bundle', sb.bundle(wrong), 'wrongtype']);
  t.equal(r.status, 1, 'a namespace path of the wrong type is an error');
  t.match(r.stderr, 'is a uts namespace, not a network namespace');
});

t.test('--no-pivot', async (t) => {
  const sb = new Sandbox(t);
  const out = inside(sb, 'nopivot', 'echo pid=$$; ls /', () => {}, ['--no-pivot']);
  t.match(out, /^pid=1\n/);
  t.match(out, /\bbin\b/, 'the rootfs is /');
});

t.test('stdio is the caller\'s, untouched', async (t) => {
  const sb = new Sandbox(t);
  const r = sb.runts(['run', '--bundle', sb.bundle(baseConfig(rootfs, ['sh', '-c', 'echo to-out; echo to-err >&2'])), 'stdio']);
  t.equal(r.stdout, 'to-out\n');
  t.equal(r.stderr, 'to-err\n');
});
