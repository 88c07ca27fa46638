import t from 'tap';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT, makeBundle } from './helpers.js';

const MAIN = join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');

function check(bundle: string): { status: number | null; lines: string[] } {
  const r = spawnSync(process.execPath, [MAIN, 'check', '--bundle', bundle], { encoding: 'utf8' });
  return { status: r.status, lines: r.stdout.trim().split('\n') };
}

const base = {
  ociVersion: '1.3.0',
  root: { path: 'rootfs' },
  process: { cwd: '/', args: ['sh'], user: { uid: 0, gid: 0 } },
  linux: { namespaces: [{ type: 'mount' }, { type: 'pid' }] },
};

t.test('a config with mistakes: every problem, exit 1', async (t) => {
  const bundle = makeBundle(t, { ...base, ociVersion: '2.0.0', hostname: 'box' });
  const r = check(bundle);
  t.equal(r.status, 1);
  t.same(r.lines, [
    'problem: config.json: ociVersion: 2.0.0 is not supported; runts implements 1.0.0 up to 1.3.x',
    'problem: config.json: hostname: needs a uts namespace of the container (a linux.namespaces entry of type uts)',
    '2 problems: the container cannot run on this host',
  ]);
});

t.test('a valid config: the host is examined', async (t) => {
  const bundle = makeBundle(t, { ...base, linux: { ...base.linux, namespaec: [] } });
  const r = check(bundle);
  t.equal(r.lines[0], `ok: ${bundle}/config.json is valid`);
  t.equal(r.lines[1], 'warning: config.json: linux.namespaec: not defined by the runtime-spec, ignored');
  t.ok(r.lines.includes('ok: namespaces: mount, pid'), 'namespaces this kernel has');
  t.ok(
    r.lines.some((l) => /^(ok|problem): cgroup layout: (v1|v2|hybrid|none)/.test(l)),
    'the cgroup layout',
  );
  t.ok(
    r.lines.every((l, i) => i === r.lines.length - 1 || /^(ok|warning|problem): /.test(l)),
    'one finding per line',
  );
  const problems = r.lines.filter((l) => l.startsWith('problem: '));
  t.equal(r.status, problems.length === 0 ? 0 : 1, 'exit status follows the problems');
});

t.test('capabilities outside the bounding set are a warning, not a problem', async (t) => {
  const status = spawnSync('cat', ['/proc/self/status'], { encoding: 'utf8' }).stdout;
  const bounding = BigInt(`0x${/^CapBnd:\s*(\w+)/m.exec(status)?.[1] ?? '0'}`);
  t.test(
    'CAP_SYS_RESOURCE',
    { skip: (bounding & (1n << 24n)) !== 0n && 'this host grants CAP_SYS_RESOURCE' },
    async (t) => {
      const caps = { bounding: ['CAP_KILL', 'CAP_SYS_RESOURCE'] };
      const r = check(makeBundle(t, { ...base, process: { ...base.process, capabilities: caps } }));
      t.ok(
        r.lines.includes(
          "warning: process.capabilities.bounding[1]: CAP_SYS_RESOURCE is not in this host's bounding set and will not be granted",
        ),
      );
    },
  );
});
