import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { validateConfigSchema, validateFeatures, checkConfigSemantics } from '../../src/spec/validate.js';
import type { Spec } from '../../src/spec/types/config.js';
import type { Features } from '../../src/spec/types/features.js';
import { MOUNT_OPTIONS } from '../../src/linux/mount-options.js';
import { run as runSpec } from '../../src/cli/spec.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const env = { ...process.env };
delete env.NODE_EXTRA_CA_CERTS;

function runts(...args: string[]): string {
  return execFileSync(process.execPath, [MAIN, ...args], { env, encoding: 'utf8' });
}

/** A bundle directory with an empty rootfs, removed when the test ends. */
function bundle(t: { teardown: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'runts-spec-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'rootfs'));
  return dir;
}

function readConfig(dir: string): Spec {
  return JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Spec;
}

t.test('runts spec writes a valid default config', async (t) => {
  const dir = bundle(t);
  t.equal(runts('spec', '--bundle', dir), '');
  const text = readFileSync(join(dir, 'config.json'), 'utf8');
  t.match(text, /^\{\n {2}"ociVersion": "1\.3\.0",\n/, 'two-space JSON');
  const spec = JSON.parse(text) as Spec;
  t.same(validateConfigSchema(spec), [], 'the schema accepts it');
  t.same(checkConfigSemantics(spec, dir), [], 'the semantic checks accept it');
  t.equal(spec.ociVersion, '1.3.0');
  t.equal(spec.hostname, 'runts');
  t.same(spec.root, { path: 'rootfs', readonly: true });
  const proc = spec.process!;
  t.equal(proc.terminal, true);
  t.same(proc.args, ['sh']);
  t.same(proc.env, ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm']);
  t.equal(proc.cwd, '/');
  t.equal(proc.noNewPrivileges, true);
  const caps = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];
  t.same(proc.capabilities, { bounding: caps, effective: caps, permitted: caps });
  t.same(proc.rlimits, [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }]);
  t.same(
    spec.mounts!.map((m) => [m.destination, m.type]),
    [
      ['/proc', 'proc'],
      ['/dev', 'tmpfs'],
      ['/dev/pts', 'devpts'],
      ['/dev/shm', 'tmpfs'],
      ['/dev/mqueue', 'mqueue'],
      ['/sys', 'sysfs'],
      ['/sys/fs/cgroup', 'cgroup'],
    ],
  );
  t.ok(spec.mounts!.find((m) => m.type === 'cgroup')!.options!.includes('ro'), 'cgroup is read-only');
  t.same(
    spec.linux!.namespaces!.map((n) => n.type),
    ['pid', 'network', 'ipc', 'uts', 'mount', 'cgroup'],
  );
  t.notOk(spec.linux!.uidMappings);
  t.ok(spec.linux!.maskedPaths!.includes('/proc/kcore'));
  t.ok(spec.linux!.readonlyPaths!.includes('/proc/sys'));
});

t.test('runts spec refuses to overwrite config.json', async (t) => {
  const dir = bundle(t);
  writeFileSync(join(dir, 'config.json'), '{"mine": true}\n');
  const r = spawnSync(process.execPath, [MAIN, 'spec', '-b', dir], { env, encoding: 'utf8' });
  t.equal(r.status, 1);
  t.match(r.stderr, 'File config.json exists. Remove it first');
  t.equal(readFileSync(join(dir, 'config.json'), 'utf8'), '{"mine": true}\n', 'the file is untouched');
});

t.test('runts spec fails on a missing bundle', async (t) => {
  const dir = bundle(t);
  const r = spawnSync(process.execPath, [MAIN, 'spec', '-b', join(dir, 'absent')], { env, encoding: 'utf8' });
  t.equal(r.status, 1);
  t.match(r.stderr, /ENOENT/);
});

// In-process: the global --rootless <value> of the command line takes the command's flag.
t.test('runts spec --rootless maps the caller into a user namespace', async (t) => {
  const dir = bundle(t);
  t.equal(await runSpec({ bundle: dir, rootless: true }), 0);
  const spec = readConfig(dir);
  t.same(validateConfigSchema(spec), [], 'the schema accepts it');
  t.same(checkConfigSemantics(spec, dir), [], 'the semantic checks accept it');
  const linux = spec.linux!;
  const types = linux.namespaces!.map((n) => n.type);
  t.ok(types.includes('user'), 'a user namespace');
  t.notOk(types.includes('network'), 'no network namespace');
  t.same(linux.uidMappings, [{ containerID: 0, hostID: process.geteuid!(), size: 1 }]);
  t.same(linux.gidMappings, [{ containerID: 0, hostID: process.getegid!(), size: 1 }]);
  t.notOk(linux.resources, 'no cgroup limits');
  const sys = spec.mounts!.find((m) => m.destination === '/sys')!;
  t.equal(sys.source, '/sys');
  t.ok(sys.options!.includes('rbind'), '/sys is an rbind of the host\'s');
  for (const m of spec.mounts!) {
    t.notOk(m.options?.some((o) => o.startsWith('uid=') || o.startsWith('gid=')), `${m.destination} names no unmapped id`);
  }
});

t.test('runts spec --rootless writes what runc spec --rootless writes', { skip: !existsSync('/usr/sbin/runc') && 'runc is not installed' }, async (t) => {
  const ours = bundle(t);
  const theirs = bundle(t);
  t.equal(await runSpec({ bundle: ours, rootless: true }), 0);
  execFileSync('/usr/sbin/runc', ['spec', '--rootless', '--bundle', theirs]);
  const a = readConfig(ours);
  const b = readConfig(theirs);
  t.same(a.mounts, b.mounts, 'the same mounts: /sys bound, the cgroup mount kept, no gid=5 on devpts');
  // runts' default spec has a cgroup namespace, as runc 1.2's has; runc 1.1's has none
  const types = (s: Spec) => s.linux!.namespaces!.map((n) => n.type).filter((n) => n !== 'cgroup');
  t.same(types(a), types(b), 'the same namespaces: a user one, the host\'s network');
  t.same([a.linux!.uidMappings, a.linux!.gidMappings], [b.linux!.uidMappings, b.linux!.gidMappings], 'the caller\'s ids mapped');
  t.same([a.linux!.resources, a.root, a.process!.user], [b.linux!.resources, b.root, b.process!.user]);
});

t.test('runts features', async (t) => {
  const out = runts('features');
  t.match(out, /^\{\n {4}"ociVersionMin": "1\.0\.0",\n/, 'four-space JSON');
  const doc = JSON.parse(out) as Features;
  t.same(validateFeatures(doc), [], 'the features schema accepts it');
  t.equal(doc.ociVersionMax, '1.3.0');
  t.same([...doc.linux!.namespaces!].sort(), ['cgroup', 'ipc', 'mount', 'network', 'pid', 'time', 'user', 'uts']);
  t.same(doc.hooks, ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop']);
  t.same(doc.mountOptions, MOUNT_OPTIONS, 'every option, idmap and ridmap included');
  t.ok(doc.mountOptions!.includes('idmap') && doc.mountOptions!.includes('ridmap'));
  const caps = doc.linux!.capabilities!;
  t.equal(caps.length, 41);
  t.equal(caps[0], 'CAP_CHOWN');
  t.equal(caps[40], 'CAP_CHECKPOINT_RESTORE');
  // libsystemd0 is on every Debian host (apt needs it): the systemd driver can run
  t.same(doc.linux!.cgroup, { v1: true, v2: true, systemd: true, systemdUser: true, rdma: false });
  t.equal(doc.linux!.seccomp!.enabled, true, 'seccomp is implemented');
  // implemented, as runc and crun say, whether or not this host's kernel has AppArmor
  t.same(doc.linux!.apparmor, { enabled: true }, 'AppArmor is implemented');
  t.same(doc.linux!.mountExtensions, { idmap: { enabled: true } });
  t.equal(doc.annotations!['io.github.runts.version'], JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')).version);
  for (const key of Object.keys(doc.annotations!)) t.match(key, /^io\.github\.runts\./, `${key} speaks of runts`);
});
