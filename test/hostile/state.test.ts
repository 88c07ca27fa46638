import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RUNTS, Sandbox, baseConfig, sharedRootfs } from '../helpers/containers.js';
import { CRASH, ENV, leftovers, runtsBounded } from './helpers.js';

/**
 * Hostile state and arguments for commands on an existing container: a corrupt
 * state.json, input files that are fifos or devices, numbers out of range, a full
 * --root. Each gets exit status 1 and one clear line, and nothing changes.
 */

const sandbox = new Sandbox(t);
const rootfs = sharedRootfs(t);
const TIMEOUT = 20_000;

function mkfifo(path: string): void {
  if (spawnSync('mkfifo', [path]).status !== 0) throw new Error(`mkfifo ${path} failed`);
}

function fails(t: Test, args: string[], expect: RegExp): void {
  const r = runtsBounded(sandbox.root, sandbox.dir, args, TIMEOUT);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  t.equal(r.status, 1, `${args.join(' ').slice(0, 80)}: exit status 1`);
  t.equal(lines.length, 1, 'one line');
  t.match(lines[0] ?? '', expect);
  t.notMatch(r.stdout + r.stderr, CRASH, 'no crash');
}

const CORRUPT: Record<string, string> = {
  garbage: 'garbage\n',
  empty: '',
  truncated: '{"ociVersion":"1.3.0","id":"c',
  'an empty object': '{}',
  'an array': '[]',
  'another id': JSON.stringify({ id: 'other', pid: 1 }),
  'a pid of 0': JSON.stringify({ ociVersion: '1.3.0', id: 'c', pid: 0, startTime: '', bundle: '', rootfs: '', created: '', owner: '', config: {} }),
};

const EVERY_COMMAND = [['state'], ['start'], ['kill'], ['delete'], ['pause'], ['resume'], ['ps'], ['events', '--stats'], ['update', '--pids-limit', '10'], ['exec']];

for (const [name, text] of Object.entries(CORRUPT)) {
  t.test(`state.json is ${name}`, async (t) => {
    const id = `corrupt-${Object.keys(CORRUPT).indexOf(name)}`;
    const dir = join(sandbox.root, id);
    mkdirSync(dir, { recursive: true });
    // the id must match for the 'another id' and 'a pid of 0' documents to say what they say
    writeFileSync(join(dir, 'state.json'), text.replace('"id":"c"', `"id":"${id}"`));
    const file = new RegExp(`^${join(dir, 'state.json').replace(/[.]/g, '\\.')}: corrupt state: `);
    // every command for one kind of damage; the others through state and delete
    const cmds = name === 'garbage' ? EVERY_COMMAND : [['state'], ['delete']];
    for (const cmd of cmds) {
      fails(t, [...cmd, id, ...(cmd[0] === 'exec' ? ['true'] : [])], file);
    }
    const r = sandbox.runts(['delete', '--force', id]);
    t.equal(r.status, 0, 'delete --force succeeds');
    t.notOk(existsSync(dir), 'delete --force removes the directory');
  });
}

t.test('a state.json that is a fifo or a device', async (t) => {
  for (const [id, make] of [
    ['fifo', (f: string) => mkfifo(f)],
    ['zero', (f: string) => symlinkSync('/dev/zero', f)],
  ] as const) {
    mkdirSync(join(sandbox.root, id), { recursive: true });
    make(join(sandbox.root, id, 'state.json'));
    fails(t, ['state', id], /state\.json: a (fifo|character device), not a regular file$/);
    t.equal(sandbox.runts(['delete', '--force', id]).status, 0);
  }
});

t.test('bad input to the commands of a live container', async (t) => {
  const bundle = sandbox.bundle(baseConfig(rootfs, ['sleep', '1000']));
  t.equal(sandbox.runts(['run', '--detach', '--bundle', bundle, 'live']).status, 0, 'the container runs');
  t.teardown(() => sandbox.runts(['delete', '--force', 'live']));
  const before = leftovers(sandbox, rootfs);
  const files = join(sandbox.dir, 'inputs');
  mkdirSync(files);
  mkfifo(join(files, 'fifo'));
  symlinkSync('/dev/zero', join(files, 'zero'));
  writeFileSync(join(files, 'array.json'), '[]');
  writeFileSync(join(files, 'truncated.json'), '{"cwd":');
  writeFileSync(join(files, 'nested.json'), `{"cwd":"/","args":["true"],"x":${'['.repeat(100_000)}${']'.repeat(100_000)}}`);
  writeFileSync(join(files, 'nul.json'), JSON.stringify({ cwd: '/', args: ['tr\0ue'] }));
  writeFileSync(join(files, 'mistyped.json'), JSON.stringify({ cwd: 1, args: 'true' }));

  for (const f of ['fifo', 'zero']) {
    fails(t, ['exec', '-p', join(files, f), 'live'], new RegExp(`cannot read .*${f}: a (fifo|character device), not a regular file$`));
    fails(t, ['update', '-r', join(files, f), 'live'], new RegExp(`cannot read .*${f}: a (fifo|character device), not a regular file$`));
  }
  fails(t, ['exec', '-p', join(files, 'array.json'), 'live'], /array\.json: expected an object of config\.json's process$/);
  fails(t, ['exec', '-p', join(files, 'truncated.json'), 'live'], /truncated\.json: not valid JSON: unexpected end of JSON input$/);
  fails(t, ['exec', '-p', join(files, 'nested.json'), 'live'], /nested\.json: nested more than \d+ levels deep$/);
  fails(t, ['update', '-r', join(files, 'nested.json'), 'live'], /nested\.json: nested more than \d+ levels deep$/);
  fails(t, ['exec', '-p', join(files, 'nul.json'), 'live'], /nul\.json: args\[0\]: contains a NUL byte$/);
  const mistyped = runtsBounded(sandbox.root, sandbox.dir, ['exec', '-p', join(files, 'mistyped.json'), 'live']);
  t.equal(mistyped.status, 1, 'a mistyped process.json fails');
  t.match(mistyped.stderr, /mistyped\.json: cwd: expected a string, got number\n.*mistyped\.json: args: expected an array, got string\n/);
  fails(t, ['update', '-r', join(files, 'array.json'), 'live'], /array\.json: expected an object of linux\.resources$/);
  for (const n of ['18446744073709551616', '-1', 'x', '1048577']) {
    fails(t, ['exec', '--preserve-fds', n, 'live', 'true'], /^--preserve-fds: /);
  }
  // 0 is valid: it only checks that the init exists (kill(2)), as engines probe liveness
  for (const sig of ['SIGBOGUS', '65', '99999999999999999999', 'RTMIN+99', '']) {
    fails(t, ['kill', 'live', sig], /^invalid signal: /);
  }
  for (const [flag, value] of [
    ['--memory', '99999999999p'],
    ['--memory', '1e3'],
    ['--cpu-quota', '99999999999999999999'],
    ['--cpu-period', '1.5'],
    ['--pids-limit', 'abc'],
    ['--cpu-share', '-99999999999999999999'],
    ['--blkio-weight', ''],
  ]) {
    fails(t, ['update', flag, value, 'live'], new RegExp(`^${flag}: `));
  }
  for (const interval of ['0s', 'abc', '99999999h', '5', '-1s']) {
    fails(t, ['events', '--interval', interval, 'live'], /^--interval/);
  }
  t.same(leftovers(sandbox, rootfs), before, 'nothing changed');
  t.equal(sandbox.state('live').status, 'running', 'the container still runs');
});

t.test('a full --root: the error names the file, and nothing is left', async (t) => {
  // The one-page tmpfs lives in a mount namespace of its own: other tests count the host's mounts.
  const root = join(sandbox.dir, 'full');
  mkdirSync(root);
  const bundle = sandbox.bundle(baseConfig(rootfs, ['true']));
  const pidFile = join(sandbox.dir, 'full.pid');
  const script = [
    'mount -t tmpfs -o size=4k tmpfs "$1" && head -c 4096 /dev/zero > "$1/fill" || exit 99',
    '"$2" --root "$1" create --bundle "$3" --pid-file "$4" full',
    'echo "status $?"',
    'ls -A "$1"',
  ].join('\n');
  const r = spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', root, RUNTS, bundle, pidFile], {
    encoding: 'utf8', env: ENV, timeout: TIMEOUT, killSignal: 'SIGKILL',
  });
  t.equal(r.stdout, 'status 1\nfill\n', 'exit status 1, and only the filling file in the root');
  // the first file create writes there: the creating record, before any cgroup or process
  t.match(r.stderr, new RegExp(`^write ${root}/full/(creating|state)\\.json: ENOSPC: [^\\n]*\\n$`), 'one line naming the file');
  t.notMatch(r.stderr, CRASH, 'no crash');
  t.notOk(existsSync(pidFile), 'no pid file');
  t.same(leftovers(sandbox, rootfs), { stateDirs: [], cgroups: [], mounts: [], processes: [] }, 'no cgroup, no process, no mount');
});
