import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { RUNTS, Sandbox, baseConfig, sharedRootfs, until } from '../helpers/containers.js';
import { readCgroupHost } from '../../src/linux/cgroups/host.js';
import { mergeResources } from '../../src/container/update.js';
import { parseBytes, resourcesFromFlags } from '../../src/cli/update.js';
import { sharesToWeight } from '../../src/linux/cgroups/resources.js';

/** update: new limits in the cgroup files of a running container, kept for the next update. */

const rootfs = sharedRootfs(t);
const host = readCgroupHost();

/** The file of `v1File` (or `v2File` on cgroup2) in the container's cgroup, found through its init. */
function file(pid: number, controller: string, v1File: string, v2File: string): string {
  const lines = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n');
  const h = host.hierarchies.find((x) => x.version === 1 && x.controllers.includes(controller))
    ?? host.hierarchies.find((x) => x.version === 2)!;
  const line = h.version === 1
    ? lines.find((l) => l.split(':')[1]?.split(',').includes(controller))!
    : lines.find((l) => l.startsWith('0::'))!;
  const path = posix.relative(h.mountRoot, line.split(':')[2]);
  return posix.join(h.mountPoint, path, h.version === 1 ? v1File : v2File);
}

const read = (path: string) => readFileSync(path, 'utf8').trim();

t.test('update: flags and -r, the files change, the state keeps the rest', async (t) => {
  const sb = new Sandbox(t);
  const config = baseConfig(rootfs, ['sleep', '1000']);
  config.linux.resources = { memory: { limit: 64 << 20 }, pids: { limit: 100 } };
  t.equal(sb.runts(['run', '--detach', '--bundle', sb.bundle(config), 'upd']).status, 0);
  const pid = sb.state('upd').pid as number;
  const memory = file(pid, 'memory', 'memory.limit_in_bytes', 'memory.max');
  const pids = file(pid, 'pids', 'pids.max', 'pids.max');
  t.equal(read(memory), String(64 << 20));

  const r = sb.runts(['update', '--memory', '32m', '--pids-limit', '50', 'upd']);
  t.equal(r.status, 0, r.stderr);
  t.equal(read(memory), String(32 << 20), 'memory limit from --memory 32m');
  t.equal(read(pids), '50', 'pids.max from --pids-limit');

  const json = join(sb.dir, 'resources.json');
  writeFileSync(json, JSON.stringify({ pids: { limit: 60 } }));
  const fromFile = sb.runts(['update', '-r', json, 'upd']);
  t.equal(fromFile.status, 0, fromFile.stderr);
  t.equal(read(pids), '60', 'pids.max from -r FILE');
  const stdin = spawnSync(RUNTS, ['--root', sb.root, 'update', '-r', '-', 'upd'], { input: '{"memory":{"limit":50331648}}', encoding: 'utf8' });
  t.equal(stdin.status, 0, stdin.stderr);
  t.equal(read(memory), '50331648', 'memory limit from -r - (stdin)');
  const kept = JSON.parse(readFileSync(join(sb.root, 'upd', 'state.json'), 'utf8')).config.linux.resources;
  t.same([kept.memory.limit, kept.pids.limit], [50331648, 60], 'the state holds the merged resources');

  const bad = sb.runts(['update', '-r', '-', 'upd']);
  t.equal(bad.status, 1, 'empty stdin');
  const wrong = spawnSync(RUNTS, ['--root', sb.root, 'update', '-r', '-', 'upd'], { input: '{"pids":{"limit":"many"}}', encoding: 'utf8' });
  t.equal(wrong.status, 1);
  t.match(wrong.stderr.trim(), /^config\.json: linux\.resources\.pids\.limit: /, 'a bad value names its path');
  t.equal(read(pids), '60', 'and changes nothing');
  t.match(sb.runts(['update', '-r', '-', 'upd']).stderr, /not valid JSON/);
  // runc leaves device rules alone on update; engines send them with the limits.
  const devicesFile = file(pid, 'devices', 'devices.list', 'cgroup.procs');
  const rulesBefore = read(devicesFile);
  const devices = spawnSync(RUNTS, ['--root', sb.root, 'update', '-r', '-', 'upd'],
    { input: '{"devices":[{"allow":true,"access":"rwm"}],"pids":{"limit":61}}', encoding: 'utf8', timeout: 30_000 });
  t.equal(devices.status, 0, 'device rules in an update do not fail it');
  t.equal(devices.stderr.trim(), 'warning: config.json: linux.resources.devices: ignored: device rules are not updated on a live container');
  t.equal(read(devicesFile), rulesBefore, 'the device rules stay as created');
  t.equal(read(pids), '61', 'the rest is applied');
  t.equal(sb.runts(['update', '--memory', 'lots', 'upd']).stderr.trim(), '--memory: "lots" is not a size (like 512m or 1g)');

  sb.runts(['kill', 'upd', 'KILL']);
  t.ok(await until(() => sb.state('upd').status === 'stopped'));
  t.equal(sb.runts(['update', '--pids-limit', '10', 'upd']).stderr.trim(), 'container not running');
  t.equal(sb.runts(['update', '--pids-limit', '10', 'nosuch']).stderr.trim(), 'container does not exist: nosuch');
});

t.test('update: limits read back as set, from the files and from events --stats; --memory -1 is unlimited', async (t) => {
  const sb = new Sandbox(t);
  const config = baseConfig(rootfs, ['sleep', '1000']);
  config.linux.resources = { memory: { limit: 64 << 20, swap: 128 << 20 }, pids: { limit: 100 }, cpu: { shares: 512, quota: 50000, period: 100000 } };
  t.equal(sb.runts(['run', '--detach', '--bundle', sb.bundle(config), 'rb']).status, 0);
  const pid = sb.state('rb').pid as number;
  const r = sb.runts(['update', '--memory', '32m', '--pids-limit', '50', '--cpu-share', '256', '--cpu-quota', '20000', 'rb']);
  t.equal(r.status, 0, r.stderr);
  const memory = file(pid, 'memory', 'memory.limit_in_bytes', 'memory.max');
  t.equal(read(memory), String(32 << 20));
  t.equal(read(file(pid, 'pids', 'pids.max', 'pids.max')), '50');
  const cpuV2 = !host.hierarchies.some((h) => h.version === 1 && h.controllers.includes('cpu'));
  t.equal(read(file(pid, 'cpu', 'cpu.shares', 'cpu.weight')), cpuV2 ? String(sharesToWeight(256)) : '256');
  if (cpuV2) t.equal(read(file(pid, 'cpu', '', 'cpu.max')), '20000 100000');
  else t.same([read(file(pid, 'cpu', 'cpu.cfs_quota_us', '')), read(file(pid, 'cpu', 'cpu.cfs_period_us', ''))], ['20000', '100000']);
  const events = sb.runts(['events', '--stats', 'rb']);
  t.equal(events.status, 0, events.stderr);
  const stats = JSON.parse(events.stdout).data;
  t.same([stats.memory.usage.limit, stats.pids.limit], [32 << 20, 50], 'events --stats reports the new limits');

  const unlimited = sb.runts(['update', '--memory', '-1', 'rb']);
  t.equal(unlimited.status, 0, `--memory -1 with a swap limit set: ${unlimited.stderr}`);
  const value = read(memory);
  t.ok(value === 'max' || BigInt(value) >= 1n << 62n, `memory unlimited (${value})`);
  const memsw = file(pid, 'memory', 'memory.memsw.limit_in_bytes', 'memory.swap.max');
  if (existsSync(memsw)) t.ok(read(memsw) === 'max' || BigInt(read(memsw)) >= 1n << 62n, 'and swap too, as with runc');
});

t.test('merging and flag parsing (no container)', async (t) => {
  t.same(mergeResources({ memory: { limit: 1, swap: 2 }, pids: { limit: 3 }, hugepageLimits: [{ pageSize: '2MB', limit: 1 }] },
    { memory: { limit: 5 }, hugepageLimits: [] }),
  { memory: { limit: 5, swap: 2 }, pids: { limit: 3 }, hugepageLimits: [] }, 'fields merge within a group; lists are replaced');
  t.equal(parseBytes('memory', '64m'), 64 << 20);
  t.equal(parseBytes('memory', '1GiB'), 1 << 30);
  t.equal(parseBytes('memory', '4096'), 4096);
  t.equal(parseBytes('memory-swap', '-1'), -1);
  t.same(resourcesFromFlags({ cpuShare: '512', cpuQuota: '-1', cpusetCpus: '0', blkioWeight: '100' }),
    { cpu: { shares: 512, quota: -1, cpus: '0' }, blockIO: { weight: 100 } });
  t.throws(() => resourcesFromFlags({ l3CacheSchema: 'L3:0=f' }), /Intel RDT is not supported/);
});
