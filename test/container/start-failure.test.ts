import t from 'tap';
import { chmodSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Sandbox, baseConfig, sharedRootfs, until } from '../helpers/containers.js';

/**
 * A failure after `start`, when create has exited and nothing reads the setup's reports
 * any more, still reaches the user: as a line on the container's stderr, as runc prints
 * `exec /bin/sleep: argument list too long`.
 */

const rootfs = sharedRootfs(t);
const STACK = 8 << 20;
/** What execve takes with that stack limit: a quarter of it (fs/exec.c). */
const LIMIT = STACK / 4;

/**
 * A config whose execve fails with E2BIG although create's check of the arguments passes:
 * args and environment fill execve's limit to the byte, and the executable is a script,
 * for which the kernel adds its interpreter's path ("/bin/sh") to the arguments.
 */
function slipsPast(sb: Sandbox): any {
  const dir = join(sb.dir, 'scripts');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'e2big'), '#!/bin/sh\nexit 0\n');
  chmodSync(join(dir, 'e2big'), 0o755);
  const config = baseConfig(rootfs, ['/tmp/e2big']);
  config.mounts[6] = { destination: '/tmp', type: 'bind', source: dir, options: ['bind', 'ro'] };
  config.process.rlimits = [...(config.process.rlimits ?? []), { type: 'RLIMIT_STACK', hard: STACK, soft: STACK }];
  const env: string[] = config.process.env;
  // each string with its NUL and pointer; the path execve is given is copied too
  const size = () => [...config.process.args, ...env].reduce((n: number, s: string) => n + Buffer.byteLength(s) + 1 + 8, 0) + '/tmp/e2big'.length + 1;
  for (let i = 0; size() + 100 * 1024 + 16 < LIMIT; i++) env.push(`BIG${i}=${'x'.repeat(100 * 1024)}`);
  env.push('PAD=');
  env[env.length - 1] = `PAD=${'x'.repeat(LIMIT - size())}`;
  if (size() !== LIMIT) throw new Error(`config of ${size()} bytes, not ${LIMIT}`);
  return config;
}

t.test('check accepts arguments that fill execve\'s limit to the byte', async (t) => {
  const sb = new Sandbox(t);
  const r = sb.runts(['check', '--bundle', sb.bundle(slipsPast(sb))]);
  t.equal(r.status, 0, r.stdout + r.stderr);
});

t.test('run: an execve that fails after start is an error line and exit status 1', async (t) => {
  const sb = new Sandbox(t);
  const r = sb.runts(['run', '--bundle', sb.bundle(slipsPast(sb)), 'e2big']);
  t.equal(r.status, 1);
  t.match(r.stderr, /^runts: config\.json: process\.args: exec \/tmp\/e2big: E2BIG: argument list too long$/m);
});

t.test('create + start: start succeeds as with runc, the container\'s stderr says why it stopped', async (t) => {
  const sb = new Sandbox(t);
  t.equal(sb.runts(['create', '--bundle', sb.bundle(slipsPast(sb)), 'e2big2']).status, 0);
  const start = sb.runts(['start', 'e2big2']);
  t.equal(start.status, 0, start.stderr);
  t.ok(await until(() => sb.state('e2big2').status === 'stopped'), 'the container stops');
  // create's stderr (a file of the sandbox) is the container's
  const text = readdirSync(sb.dir).filter((f) => f.startsWith('err')).map((f) => readFileSync(join(sb.dir, f), 'utf8')).join('');
  t.match(text, /runts: config\.json: process\.args: exec \/tmp\/e2big: E2BIG: argument list too long/);
});
