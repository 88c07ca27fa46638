import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { RUNTS, Sandbox, baseConfig, sharedRootfs, sleep, until } from '../helpers/containers.js';

/**
 * The systemd cgroup driver against a real systemd (PID 1, over D-Bus): the scope unit,
 * its cgroup files and what is left after. Runs where systemd is the init, as in the test
 * VM (test/vm/); elsewhere it says why it skips.
 */

const systemdHost = existsSync('/run/systemd/system');
if (!systemdHost) {
  t.pass('skipped: systemd is not PID 1 on this host (test/vm/ runs this file on one where it is)');
} else {
  const rootfs = sharedRootfs(t);
  const TAG = `rtst${process.pid}${randomBytes(2).toString('hex')}`;
  const systemctl = (...args: string[]) => spawnSync('systemctl', args, { encoding: 'utf8' }).stdout.trim();
  const active = (unit: string) => systemctl('is-active', unit);
  const gone = (unit: string) => !['active', 'activating', 'deactivating', 'failed'].includes(active(unit));
  const v2 = !existsSync('/sys/fs/cgroup/memory');
  const scopeDir = (unit: string, slice = 'system.slice') => `/sys/fs/cgroup/${v2 ? '' : 'memory/'}${slice}/${unit}`;
  const read = (f: string) => readFileSync(f, 'utf8').trim();

  t.teardown(() => {
    // whatever a failed test left: units named with this run's tag
    for (const line of systemctl('list-units', '--all', '--no-legend', '--plain', `*${TAG}*`).split('\n')) {
      const unit = line.split(/\s+/)[0];
      if (unit) spawnSync('systemctl', ['stop', unit]);
    }
  });

  t.test('run -d: a scope with the limits, update, exec in it, delete removes it', async (t) => {
    const sb = new Sandbox(t);
    const config = baseConfig(rootfs, ['sleep', '600']);
    config.linux.cgroupsPath = `system.slice:${TAG}:a`;
    config.linux.resources = { memory: { limit: 64 << 20 }, pids: { limit: 20 }, cpu: { quota: 50000, period: 100000 } };
    const b = sb.bundle(config);
    const unit = `${TAG}-a.scope`;
    const r = sb.runts(['--systemd-cgroup', 'run', '--detach', '--bundle', b, 'a'], { timeout: 120_000 });
    t.equal(r.status, 0, r.stderr);
    t.equal(active(unit), 'active', 'the scope unit is active');
    const dir = scopeDir(unit);
    const pid = sb.state('a').pid;
    t.match(read(`/proc/${pid}/cgroup`), new RegExp(`/system.slice/${unit}`), 'the init is in the scope');
    t.equal(systemctl('show', unit, '-p', 'MemoryMax', '--value'), String(64 << 20), 'MemoryMax is a unit property');
    t.equal(systemctl('show', unit, '-p', 'TasksMax', '--value'), '20');
    if (v2) {
      t.equal(read(`${dir}/memory.max`), String(64 << 20));
      t.equal(read(`${dir}/pids.max`), '20');
      t.equal(read(`${dir}/cpu.max`), '50000 100000');
    }
    const u = sb.runts(['update', '--memory', String(32 << 20), '--pids-limit', '7', 'a'], { timeout: 120_000 });
    t.equal(u.status, 0, u.stderr);
    t.equal(systemctl('show', unit, '-p', 'TasksMax', '--value'), '7', 'update sets the unit property');
    if (v2) t.equal(read(`${dir}/pids.max`), '7', 'and the file');
    // systemd re-applies its properties on daemon-reload: the limits must survive it
    spawnSync('systemctl', ['daemon-reload']);
    if (v2) t.equal(read(`${dir}/memory.max`), String(32 << 20), 'daemon-reload keeps the updated limit');
    const e = sb.runts(['exec', 'a', 'cat', '/proc/self/cgroup'], { timeout: 120_000 });
    t.equal(e.status, 0, e.stderr);
    const d = sb.runts(['delete', '--force', 'a'], { timeout: 120_000 });
    t.equal(d.status, 0, d.stderr);
    t.ok(await until(() => gone(unit), 10_000), 'the unit is gone');
    t.notOk(existsSync(dir), 'its cgroup is gone');
  });

  t.test('without cgroupsPath: system.slice:runts:<id>', async (t) => {
    const sb = new Sandbox(t);
    const config = baseConfig(rootfs, ['sleep', '600']);
    const b = sb.bundle(config);
    // the sandbox sets a cgroupfs path for tests side by side; this one wants runc's default
    delete config.linux.cgroupsPath;
    writeFileSync(`${b}/config.json`, JSON.stringify(config));
    const id = `${TAG}b`;
    const r = sb.runts(['--systemd-cgroup', 'create', '--bundle', b, id], { timeout: 120_000 });
    t.equal(r.status, 0, r.stderr);
    t.equal(active(`runts-${id}.scope`), 'active');
    sb.runts(['delete', '--force', id], { timeout: 120_000 });
    t.ok(await until(() => gone(`runts-${id}.scope`), 10_000));
  });

  t.test('a create that fails after the scope exists leaves no unit and no cgroup', async (t) => {
    const sb = new Sandbox(t);
    const config = baseConfig(rootfs, ['true']);
    config.linux.cgroupsPath = `system.slice:${TAG}:bad`;
    config.mounts.push({ destination: '/data', type: 'bind', source: '/nonexistent/source', options: ['rbind'] });
    const b = sb.bundle(config);
    const r = sb.runts(['--systemd-cgroup', 'create', '--bundle', b, 'bad'], { timeout: 120_000 });
    t.equal(r.status, 1);
    t.match(r.stderr, /mounts\[\d+\]/);
    t.ok(gone(`${TAG}-bad.scope`), 'no unit');
    t.notOk(existsSync(scopeDir(`${TAG}-bad.scope`)), 'no cgroup');
  });

  t.test('a bad slice is a clear error before anything exists', async (t) => {
    const sb = new Sandbox(t);
    const config = baseConfig(rootfs, ['true']);
    config.linux.cgroupsPath = 'a--b.slice:x:y';
    const r = sb.runts(['--systemd-cgroup', 'create', '--bundle', sb.bundle(config), 'slice'], { timeout: 120_000 });
    t.equal(r.status, 1);
    t.match(r.stderr, /linux\.cgroupsPath: invalid slice name: a--b\.slice/);
    t.notOk(existsSync(`${sb.root}/slice`), 'no state');
  });

  t.test('create killed at any moment: delete --force leaves no unit, cgroup or state', async (t) => {
    const sb = new Sandbox(t);
    const config = baseConfig(rootfs, ['sleep', '600']);
    config.linux.cgroupsPath = `system.slice:${TAG}:k`;
    const b = sb.bundle(config);
    const unit = `${TAG}-k.scope`;
    // create's own duration decides where the kills fall
    const t0 = Date.now();
    sb.runts(['--systemd-cgroup', 'create', '--bundle', b, 'k'], { timeout: 120_000 });
    const took = Date.now() - t0;
    sb.runts(['delete', '--force', 'k'], { timeout: 120_000 });
    for (const fraction of [0.2, 0.4, 0.6, 0.8, 0.95]) {
      const child = spawn(RUNTS, ['--root', sb.root, '--systemd-cgroup', 'create', '--bundle', b, 'k'], { stdio: 'ignore' });
      await sleep(took * fraction);
      // a create that ended before the kill has already said so
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((res) => child.on('exit', res));
        child.kill('SIGKILL');
        await exited;
      }
      const d = sb.runts(['delete', '--force', 'k'], { timeout: 120_000 });
      t.equal(d.status, 0, `delete --force after a kill at ${Math.round(took * fraction)} ms: ${d.stderr}`);
      t.ok(await until(() => gone(unit), 10_000), `no unit after a kill at ${Math.round(took * fraction)} ms`);
      t.notOk(existsSync(scopeDir(unit)), 'no cgroup');
      t.notOk(existsSync(`${sb.root}/k`), 'no state');
    }
  });
}
