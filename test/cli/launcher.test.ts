import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RUNTS, Sandbox, baseConfig, sharedRootfs } from '../helpers/containers.js';

/**
 * Engines may call the runtime with no PATH at all (Podman does for pause and delete), and
 * node may live outside /usr/bin (nvm, /usr/local/bin, CI's Node 24): bin/runts must start
 * the node it was built with whatever the environment holds.
 */

const rootfs = sharedRootfs(t);

for (const [what, env] of [
  ['an empty environment', {}],
  ['a PATH without node', { PATH: '/nonexistent' }],
] as const) {
  t.test(`bin/runts starts with ${what}`, async (t) => {
    const r = spawnSync(RUNTS, ['--version'], { env, encoding: 'utf8' });
    t.equal(r.status, 0, r.stderr);
    t.match(r.stdout, /^runts version /);
  });
}

t.test('through a symlink in a bin directory (npm link), with no PATH, a container runs and is deleted', async (t) => {
  const bin = mkdtempSync(join(tmpdir(), 'runts-bin-'));
  t.teardown(() => rmSync(bin, { recursive: true, force: true }));
  symlinkSync(RUNTS, join(bin, 'runts'));
  const sb = new Sandbox(t);
  const bundle = sb.bundle(baseConfig(rootfs, ['sh', '-c', 'echo ran; exit 3']));
  const r = spawnSync(join(bin, 'runts'), ['--root', sb.root, 'run', '--bundle', bundle, 'nopath'], {
    env: {},
    encoding: 'utf8',
    input: '',
    timeout: 30_000,
  });
  t.equal(r.status, 3, r.stderr);
  t.equal(r.stdout, 'ran\n');
  const state = spawnSync(join(bin, 'runts'), ['--root', sb.root, 'state', 'nopath'], { env: {}, encoding: 'utf8' });
  t.not(state.status, 0, 'run deleted the container');
});
