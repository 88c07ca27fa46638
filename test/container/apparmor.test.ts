import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Sandbox, baseConfig, sharedRootfs } from '../helpers/containers.js';
import { apparmorEnabled } from '../../src/linux/process-attributes.js';

/**
 * process.apparmorProfile on a kernel with AppArmor: a profile of the test's own, loaded
 * in enforce mode, confines the container's process and exec'd ones. Where AppArmor is off
 * (this suite's usual cgroup v1 host) process.test.ts checks the refusal instead.
 */

const parser = spawnSync('apparmor_parser', ['--version'], { encoding: 'utf8' });
if (!apparmorEnabled()) {
  t.plan(0, 'AppArmor is not enabled on this host (/sys/module/apparmor/parameters/enabled is not Y)');
} else if (parser.error || parser.status !== 0) {
  t.plan(0, 'apparmor_parser is not installed (apt-get install apparmor)');
} else {
  const rootfs = sharedRootfs(t);
  const profile = `runts-test-aa-${process.pid}`;
  const other = `${profile}-other`;
  const dir = mkdtempSync(join(tmpdir(), 'runts-aa-'));
  const file = join(dir, 'profiles');
  // Everything allowed but what the test checks; the file rule for `other` only tells the two apart.
  writeFileSync(file, [profile, other].map((name) => `
profile ${name} flags=(attach_disconnected,mediate_deleted) {
  file,
  capability,
  network,
  signal,
  unix,
  ptrace,
  mount,
  umount,
  pivot_root,
  deny /etc/passwd r,
  deny /tmp/denied w,
}
`).join(''));
  const load = spawnSync('apparmor_parser', ['-r', '-W', file], { encoding: 'utf8' });
  t.teardown(() => {
    spawnSync('apparmor_parser', ['-R', file]);
    rmSync(dir, { recursive: true, force: true });
  });
  if (load.status !== 0) throw new Error(`apparmor_parser -r: ${load.stderr}`);

  // What the process sees of itself, and whether the profile's denials hold for it.
  const probe = [
    'sh', '-c',
    'cat /proc/self/attr/current; cat /etc/passwd >/dev/null 2>&1 && echo read-passwd; '
    + 'echo x > /tmp/denied 2>/dev/null && echo wrote-denied; echo x > /tmp/allowed && echo wrote-allowed',
  ];
  const confined = (name: string) => `${name} (enforce)\nwrote-allowed\n`;

  t.test('the container\'s process runs confined by process.apparmorProfile', async (t) => {
    const sb = new Sandbox(t);
    const config = baseConfig(rootfs, probe);
    config.process.apparmorProfile = profile;
    const r = sb.runts(['run', '--bundle', sb.bundle(config), 'aa1']);
    t.equal(r.status, 0, r.stderr);
    t.equal(r.stdout, confined(profile), 'attr/current names the profile; /etc/passwd and /tmp/denied are refused');

    const plain = sb.runts(['run', '--bundle', sb.bundle(baseConfig(rootfs, probe)), 'aa2']);
    t.equal(plain.stdout, 'unconfined\nread-passwd\nwrote-denied\nwrote-allowed\n', 'without a profile the same commands succeed');
  });

  t.test('a non-root process with no_new_privs is confined too', async (t) => {
    const sb = new Sandbox(t);
    const config = baseConfig(rootfs, probe);
    config.process.apparmorProfile = profile;
    config.process.user = { uid: 1000, gid: 1000 };
    config.process.noNewPrivileges = true;
    const r = sb.runts(['run', '--bundle', sb.bundle(config), 'aa3']);
    t.equal(r.status, 0, r.stderr);
    t.equal(r.stdout, confined(profile));
  });

  t.test('in a user namespace too', async (t) => {
    const sb = new Sandbox(t);
    const config = baseConfig(rootfs, probe);
    config.process.apparmorProfile = profile;
    config.linux.namespaces.push({ type: 'user' });
    config.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    config.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    const r = sb.runts(['run', '--bundle', sb.bundle(config), 'aa7']);
    t.equal(r.status, 0, r.stderr);
    t.equal(r.stdout, confined(profile));
  });

  t.test('exec: the container\'s profile, or the one --apparmor or process.json names', async (t) => {
    const sb = new Sandbox(t);
    const config = baseConfig(rootfs, ['sleep', '1000']);
    config.process.apparmorProfile = profile;
    t.equal(sb.runts(['run', '--detach', '--bundle', sb.bundle(config), 'aa4']).status, 0);

    const same = sb.runts(['exec', 'aa4', ...probe]);
    t.equal(same.status, 0, same.stderr);
    t.equal(same.stdout, confined(profile), 'the container\'s profile');

    const flag = sb.runts(['exec', '--apparmor', other, 'aa4', 'cat', '/proc/self/attr/current']);
    t.equal(flag.stdout, `${other} (enforce)\n`, '--apparmor');
    const unconfined = sb.runts(['exec', '--apparmor', 'unconfined', 'aa4', 'cat', '/proc/self/attr/current']);
    t.equal(unconfined.stdout, 'unconfined\n', '--apparmor unconfined');

    const json = join(sb.dir, 'process.json');
    const base = { args: ['cat', '/proc/self/attr/current'], cwd: '/', env: ['PATH=/bin'], user: { uid: 0, gid: 0 } };
    writeFileSync(json, JSON.stringify(base));
    t.equal(sb.runts(['exec', '-p', json, 'aa4']).stdout, `${profile} (enforce)\n`, 'a process.json without a profile keeps the container\'s');
    writeFileSync(json, JSON.stringify({ ...base, apparmorProfile: other }));
    t.equal(sb.runts(['exec', '-p', json, 'aa4']).stdout, `${other} (enforce)\n`, 'a process.json\'s own profile');

    const missing = sb.runts(['exec', '--apparmor', `${profile}-missing`, 'aa4', 'true']);
    t.equal(missing.status, 1);
    t.match(missing.stderr, `process.apparmorProfile: AppArmor profile ${profile}-missing is not loaded: ENOENT`);
  });

  t.test('a profile that is not loaded fails create, naming process.apparmorProfile, and leaves nothing', async (t) => {
    const sb = new Sandbox(t);
    const config = baseConfig(rootfs, ['true']);
    config.process.apparmorProfile = `${profile}-missing`;
    const bundle = sb.bundle(config);
    const check = sb.runts(['check', '--bundle', bundle]);
    t.equal(check.status, 1);
    t.match(check.stdout, `problem: process.apparmorProfile: AppArmor profile ${profile}-missing is not loaded`);
    const r = sb.runts(['create', '--bundle', bundle, 'aa5']);
    t.equal(r.status, 1);
    t.equal(r.stderr, `config.json: process.apparmorProfile: AppArmor profile ${profile}-missing is not loaded: ENOENT: no such file or directory\n`);
    t.equal(sb.runts(['list', '-q']).stdout, '', 'no container is left');
  });

  t.test('a /proc that is not procfs is refused, not written to', async (t) => {
    const sb = new Sandbox(t);
    const config = baseConfig(rootfs, ['true']);
    config.process.apparmorProfile = profile;
    // an image's /proc volume (CVE-2019-16884): the label would go to a plain file
    config.mounts = config.mounts.map((m: any) => (m.destination === '/proc' ? { destination: '/proc', type: 'tmpfs', source: 'tmpfs' } : m));
    // nothing else of the setup may need /proc before the profile is written
    config.linux.maskedPaths = [];
    config.linux.readonlyPaths = [];
    const r = sb.runts(['run', '--bundle', sb.bundle(config), 'aa6']);
    t.equal(r.status, 1);
    t.match(r.stderr, 'config.json: process.apparmorProfile: apply AppArmor profile');
    t.match(r.stderr, '/proc is not procfs');
  });
}
