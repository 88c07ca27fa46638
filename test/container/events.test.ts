import t from 'tap';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { RUNTS, Sandbox, baseConfig, sharedRootfs, until } from '../helpers/containers.js';
import { parseDuration } from '../../src/cli/events.js';
import { parseIoStat, parseKeyValues, parseNumber } from '../../src/linux/cgroups/stats.js';

/** events: stats from the container's cgroup files, and OOM kills as they happen. */

const rootfs = sharedRootfs(t);

t.test('events --stats: one stats event with the container\'s numbers', async (t) => {
  const sb = new Sandbox(t);
  const config = baseConfig(rootfs, ['sh', '-c', 'sleep 1000 & sleep 1001']);
  config.linux.resources = { memory: { limit: 64 << 20 }, pids: { limit: 50 } };
  t.equal(sb.runts(['run', '--detach', '--bundle', sb.bundle(config), 'ev']).status, 0);
  t.ok(await until(() => JSON.parse(sb.runts(['ps', '--format', 'json', 'ev']).stdout).length === 2));
  const r = sb.runts(['events', '--stats', 'ev']);
  t.equal(r.status, 0, r.stderr);
  t.equal(r.stdout.split('\n').length, 2, 'one line');
  const event = JSON.parse(r.stdout);
  t.equal(event.type, 'stats');
  t.equal(event.id, 'ev');
  t.same(event.data.pids, { current: 2, limit: 50 }, 'pids');
  t.equal(event.data.memory.usage.limit, 64 << 20, 'memory limit');
  t.ok(event.data.memory.usage.usage > 0, `memory usage ${event.data.memory.usage.usage}`);
  t.ok(event.data.cpu.usage.total > 0, `cpu time ${event.data.cpu.usage.total} ns`);
  t.equal(sb.runts(['events', '--stats', 'nosuch']).stderr.trim(), 'container does not exist: nosuch');
});

t.test('events: stats every interval and an oom event; it ends when the container stops', async (t) => {
  const sb = new Sandbox(t);
  // a subshell that outgrows the limit is killed by the OOM killer; the container goes on
  const hog = 'while [ ! -e /tmp/go ]; do sleep 0.1; done; (x=$(head -c 100000000 /dev/zero | tr "\\\\0" a)); sleep 1000';
  const config = baseConfig(rootfs, ['sh', '-c', hog]);
  config.root.readonly = false;
  config.linux.resources = { memory: { limit: 24 << 20 } };
  t.equal(sb.runts(['run', '--detach', '--bundle', sb.bundle(config), 'evs']).status, 0);
  const child = spawn(RUNTS, ['--root', sb.root, 'events', '--interval', '300ms', 'evs'], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => child.kill('SIGKILL'));
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const events = () => out.split('\n').filter(Boolean).map((l) => JSON.parse(l));
  // the hog starts once events has taken its first reading
  t.ok(await until(() => events().length > 0, 10_000), 'a first stats event');
  writeFileSync(`/proc/${sb.state('evs').pid}/root/tmp/go`, '');
  t.ok(await until(() => events().some((e) => e.type === 'oom'), 15_000), 'an oom event');
  t.ok(await until(() => events().filter((e) => e.type === 'stats').length >= 3, 5000), 'stats events keep coming');
  t.ok(events().every((e) => e.id === 'evs'));
  sb.runts(['kill', 'evs', 'KILL']);
  t.equal(await exited, 0, 'events exits once the container has stopped');
});

t.test('parsing (no container)', async (t) => {
  t.equal(parseDuration('5s'), 5000);
  t.equal(parseDuration('1m30s'), 90_000);
  t.equal(parseDuration('250ms'), 250);
  t.throws(() => parseDuration('5'), /not a duration/);
  t.same(parseKeyValues('usage_usec 10\nnr_periods 2\nbad\n'), { usage_usec: 10, nr_periods: 2 });
  t.equal(parseNumber('max\n'), 0);
  t.equal(parseNumber('123\n'), 123);
  t.same(parseIoStat('8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0\n'), {
    bytes: [{ major: 8, minor: 0, op: 'Read', value: 1 }, { major: 8, minor: 0, op: 'Write', value: 2 }],
    ios: [{ major: 8, minor: 0, op: 'Read', value: 3 }, { major: 8, minor: 0, op: 'Write', value: 4 }],
  });
});
