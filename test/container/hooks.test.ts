import t from 'tap';
import { existsSync, mkdirSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { Sandbox, baseConfig, sharedRootfs, until } from '../helpers/containers.js';

const rootfs = sharedRootfs(t);

/** A hook that saves its stdin (the state) and the namespaces it ran in under `dir`/`name`. */
function recorder(dir: string, name: string) {
  return {
    path: '/bin/sh',
    args: ['sh', '-c', `cat > ${dir}/${name}.json; readlink /proc/self/ns/mnt > ${dir}/${name}.mnt`],
  };
}

t.test('every hook runs at its point, in its namespace, with the state on stdin', async (t) => {
  const sb = new Sandbox(t);
  const out = join(sb.dir, 'out');
  mkdirSync(out);
  const config = baseConfig(rootfs, ['sleep', '1000']);
  config.mounts.push({ destination: '/out', type: 'bind', source: out, options: ['rbind'] });
  config.hooks = {
    prestart: [recorder(out, 'prestart')],
    createRuntime: [recorder(out, 'createRuntime')],
    createContainer: [recorder(out, 'createContainer')],
    // after pivot_root: the path and the output are the container's
    startContainer: [{ path: '/bin/sh', args: ['sh', '-c', 'cat > /out/startContainer.json; readlink /proc/self/ns/mnt > /out/startContainer.mnt'] }],
    poststart: [recorder(out, 'poststart')],
    poststop: [recorder(out, 'poststop')],
  };
  const hostMnt = readlinkSync('/proc/self/ns/mnt');
  t.equal(sb.runts(['create', '--bundle', sb.bundle(config), 'h1']).status, 0);
  const pid = sb.state('h1').pid;
  const containerMnt = readlinkSync(`/proc/${pid}/ns/mnt`);
  for (const phase of ['prestart', 'createRuntime', 'createContainer']) {
    t.ok(existsSync(join(out, `${phase}.json`)), `${phase} ran at create`);
    const state = JSON.parse(readFileSync(join(out, `${phase}.json`), 'utf8'));
    t.equal(state.id, 'h1', `${phase} got the state`);
    // state.md: the pid as seen from the namespace the hook runs in
    t.equal(state.pid, phase === 'createContainer' ? 1 : pid, `${phase} got the init pid`);
  }
  t.equal(readFileSync(join(out, 'createRuntime.mnt'), 'utf8').trim(), hostMnt, 'createRuntime in the runtime namespace');
  t.equal(readFileSync(join(out, 'createContainer.mnt'), 'utf8').trim(), containerMnt, 'createContainer in the container namespace');
  t.notOk(existsSync(join(out, 'startContainer.json')), 'startContainer not before start');
  t.equal(sb.runts(['start', 'h1']).status, 0);
  t.ok(await until(() => existsSync(join(out, 'poststart.json'))), 'poststart ran at start');
  t.equal(readFileSync(join(out, 'startContainer.mnt'), 'utf8').trim(), containerMnt, 'startContainer in the container namespace');
  t.equal(JSON.parse(readFileSync(join(out, 'startContainer.json'), 'utf8')).id, 'h1');
  t.equal(readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0')[0], 'sleep', 'then the process runs');
  t.notOk(existsSync(join(out, 'poststop.json')));
  t.equal(sb.runts(['delete', '--force', 'h1']).status, 0);
  t.ok(existsSync(join(out, 'poststop.json')), 'poststop ran at delete');
  t.equal(JSON.parse(readFileSync(join(out, 'poststop.json'), 'utf8')).status, 'stopped');
});

t.test('hooks that do not read the state on stdin do not fail', async (t) => {
  const sb = new Sandbox(t);
  const config = baseConfig(rootfs, ['sleep', '1000']);
  // More state than a pipe holds: a hook that exits at once never reads it all.
  config.annotations = { big: 'x'.repeat(256 << 10) };
  const quick = [{ path: '/bin/true', args: ['true'] }];
  config.hooks = { prestart: quick, createRuntime: quick, poststart: quick, poststop: quick };
  const created = sb.runts(['create', '--bundle', sb.bundle(config), 'quick']);
  t.same([created.status, created.stderr], [0, ''], 'create');
  const started = sb.runts(['start', 'quick']);
  t.same([started.status, started.stderr], [0, ''], 'start');
  const deleted = sb.runts(['delete', '--force', 'quick']);
  t.same([deleted.status, deleted.stderr], [0, ''], 'delete, with no warning from poststop');
});

t.test('a failing prestart, createRuntime or createContainer hook fails create and leaves nothing', async (t) => {
  const sb = new Sandbox(t);
  for (const phase of ['prestart', 'createRuntime', 'createContainer']) {
    const config = baseConfig(rootfs, ['true']);
    config.hooks = { [phase]: [{ path: '/bin/sh', args: ['sh', '-c', 'echo broken >&2; exit 3'] }] };
    const id = `fail-${phase}`;
    const r = sb.runts(['create', '--bundle', sb.bundle(config), id]);
    t.equal(r.status, 1, `${phase} failure fails create`);
    // The in-container hook's wait status stays in the init; its stderr comes back all the same.
    const how = phase === 'createContainer' ? '' : ': exit status 3';
    t.equal(r.stderr.trim().split('\n').pop(), `config.json: hooks.${phase}[0]: ${phase} hook 0 (/bin/sh) failed${how}: broken`,
      'the error names the hook and says what it printed');
    t.notOk(existsSync(join(sb.root, id)), 'no state dir left');
  }
});

t.test('a failing startContainer or poststart hook fails start, destroys the container, runs poststop', async (t) => {
  const sb = new Sandbox(t);
  const out = join(sb.dir, 'out');
  mkdirSync(out);
  for (const phase of ['startContainer', 'poststart']) {
    const config = baseConfig(rootfs, ['sleep', '1000']);
    config.hooks = {
      [phase]: [{ path: '/bin/false', args: ['false'] }],
      poststop: [recorder(out, `poststop-${phase}`)],
    };
    const id = `fail-${phase}`;
    t.equal(sb.runts(['create', '--bundle', sb.bundle(config), id]).status, 0);
    const pid = sb.state(id).pid;
    const r = sb.runts(['start', id]);
    t.equal(r.status, 1, `a failing ${phase} hook fails start`);
    t.notOk(existsSync(`/proc/${pid}/cmdline`) && readFileSync(`/proc/${pid}/cmdline`, 'latin1').startsWith('sleep'), 'the process is stopped');
    t.notOk(existsSync(join(sb.root, id)), 'the container is destroyed');
    t.ok(existsSync(join(out, `poststop-${phase}.json`)), 'poststop ran');
  }
});

t.test('createContainer hooks run in the container\'s root; a failing startContainer hook is reported by start and run', async (t) => {
  const sb = new Sandbox(t);
  const out = join(sb.dir, 'out');
  mkdirSync(out);
  const config = baseConfig(rootfs, ['true']);
  config.hooks = { createContainer: [{ path: '/bin/sh', args: ['sh', '-c', `pwd > ${out}/cwd`] }] };
  t.equal(sb.runts(['run', '--bundle', sb.bundle(config), 'cwd']).status, 0);
  t.equal(readFileSync(join(out, 'cwd'), 'utf8').trim(), realpathSync(rootfs), 'the hook\'s cwd is the rootfs, as with runc');

  const failing = baseConfig(rootfs, ['sleep', '1000']);
  failing.hooks = { startContainer: [{ path: '/bin/true', args: ['true'] }, { path: '/bin/sh', args: ['sh', '-c', 'echo no start today >&2; exit 4'] }] };
  const line = 'config.json: hooks.startContainer[1]: startContainer hook 1 (/bin/sh) failed: exit status 4: no start today';
  const run = sb.runts(['run', '--bundle', sb.bundle(failing), 'srun']);
  t.equal(run.status, 1);
  t.equal(run.stderr.trim(), line, 'run reports the hook, not a missing container');
  t.notOk(existsSync(join(sb.root, 'srun')));
  t.equal(sb.runts(['create', '--bundle', sb.bundle(failing), 'sstart']).status, 0);
  const start = sb.runts(['start', 'sstart']);
  t.same([start.status, start.stderr.trim()], [1, line], 'so does start');
  t.notOk(existsSync(join(sb.root, 'sstart')), 'and the container is destroyed');
});

t.test('a failing create-time hook runs the poststop hooks', async (t) => {
  const sb = new Sandbox(t);
  const out = join(sb.dir, 'out');
  mkdirSync(out);
  const config = baseConfig(rootfs, ['true']);
  config.hooks = { createRuntime: [{ path: '/bin/false', args: ['false'] }], poststop: [recorder(out, 'poststop')] };
  t.equal(sb.runts(['create', '--bundle', sb.bundle(config), 'cr']).status, 1);
  t.ok(existsSync(join(out, 'poststop.json')), 'poststop ran');
});

t.test('a hook that runs past its timeout is killed and fails', async (t) => {
  const sb = new Sandbox(t);
  const config = baseConfig(rootfs, ['true']);
  config.hooks = { createRuntime: [{ path: '/bin/sleep', args: ['sleep', '30'], timeout: 1 }] };
  const started = Date.now();
  const r = sb.runts(['create', '--bundle', sb.bundle(config), 'slow']);
  t.equal(r.status, 1);
  t.match(r.stderr, 'timed out after 1 s');
  t.ok(Date.now() - started < 20_000, 'did not wait for the hook to finish');
});
