import t from 'tap';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Sandbox, baseConfig, sharedRootfs, until } from '../helpers/containers.js';

/**
 * A failure after `start`, when create has exited and nothing reads the setup's reports
 * any more, still reaches the user: as a line on the container's stderr, as runc prints
 * `exec /bin/sleep: argument list too long`.
 */

const rootfs = sharedRootfs(t);

/**
 * A config whose execve fails with E2BIG: 3 MiB of environment, more than a quarter of the
 * 8 MiB stack limit, in strings each short enough to pass the config's checks.
 */
function tooBig(): any {
  const config = baseConfig(rootfs, ['sleep', '1']);
  const big = Array.from({ length: 30 }, (_, i) => `BIG${i}=${'x'.repeat(100 * 1024)}`);
  config.process.env = [...config.process.env, ...big];
  config.process.rlimits = [...(config.process.rlimits ?? []), { type: 'RLIMIT_STACK', hard: 8 << 20, soft: 8 << 20 }];
  return config;
}

t.test('run: an execve that fails after start is an error line and exit status 1', async (t) => {
  const sb = new Sandbox(t);
  const r = sb.runts(['run', '--bundle', sb.bundle(tooBig()), 'e2big']);
  t.equal(r.status, 1);
  t.match(r.stderr, /^runts: config\.json: process\.args: exec sleep: E2BIG: argument list too long$/m);
});

t.test('create + start: start succeeds as with runc, the container\'s stderr says why it stopped', async (t) => {
  const sb = new Sandbox(t);
  t.equal(sb.runts(['create', '--bundle', sb.bundle(tooBig()), 'e2big2']).status, 0);
  const start = sb.runts(['start', 'e2big2']);
  t.equal(start.status, 0, start.stderr);
  t.ok(await until(() => sb.state('e2big2').status === 'stopped'), 'the container stops');
  // create's stderr (a file of the sandbox) is the container's
  const text = readdirSync(sb.dir).filter((f) => f.startsWith('err')).map((f) => readFileSync(join(sb.dir, f), 'utf8')).join('');
  t.match(text, /runts: config\.json: process\.args: exec sleep: E2BIG: argument list too long/);
});
