import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Run inside the test VM (systemd as PID 1, cgroup v2): Podman with its default cgroup
 * manager (systemd) and containerd with SystemdCgroup = true drive each runtime given on
 * the command line through a container's life, and the checks read the effect from the
 * host side: the scope unit, its cgroup files, what is left after. Prints one line per
 * check and runtime, then a table; exit status 1 when a check fails for the first runtime.
 */

const runtimes = process.argv.slice(2);
if (runtimes.length === 0) {
  process.stderr.write('usage: smoke.js RUNTIME...\n');
  process.exit(2);
}

function sh(cmd: string, timeoutMs = 180_000): { status: number; out: string } {
  const r = spawnSync('sh', ['-c', cmd], { encoding: 'utf8', timeout: timeoutMs });
  return { status: r.status ?? 255, out: `${r.stdout ?? ''}${r.stderr ?? ''}`.trim() };
}

const WORK = '/var/tmp/runts-smoke';
rmSync(WORK, { recursive: true, force: true });
const rootfs = join(WORK, 'rootfs');
for (const d of ['bin', 'proc', 'sys', 'dev', 'tmp', 'etc']) mkdirSync(join(rootfs, d), { recursive: true });
copyFileSync('/bin/busybox', join(rootfs, 'bin/busybox'));
for (const a of ['sh', 'sleep', 'cat', 'echo', 'true', 'ls', 'mkdir']) symlinkSync('busybox', join(rootfs, 'bin', a));
writeFileSync(join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');

const unitGone = (unit: string) => !/^(active|activating|deactivating|failed)$/m.test(sh(`systemctl is-active ${unit}`).out);
const scopeFile = (slice: string, unit: string, file: string) => {
  try {
    return readFileSync(`/sys/fs/cgroup/${slice}/${unit}/${file}`, 'utf8').trim();
  } catch {
    return undefined;
  }
};
const leftUnits = (pattern: string) => sh(`systemctl list-units --all --no-legend '${pattern}'`).out;

/** `n` is unique per check and runtime; `name` is the runtime's Podman container, shared by its checks. */
type Check = [name: string, fn: (rt: string, n: number, name: string) => string | undefined];

/** Each check returns undefined when it holds, else what it saw. */
const checks: Check[] = [
  ['podman run --rm exits with the process status', (rt) => {
    const r = sh(`podman --runtime ${rt} run --rm --rootfs ${rootfs} /bin/sh -c 'exit 3'`);
    return r.status === 3 ? undefined : `status ${r.status}: ${r.out}`;
  }],
  ['podman run -d --memory 20m --pids-limit 10: a scope with those limits', (rt, _n, name) => {
    const r = sh(`podman --runtime ${rt} run -d --name ${name} --memory 20m --pids-limit 10 --rootfs ${rootfs} /bin/sleep 600`);
    if (r.status !== 0) return `run -d: ${r.out}`;
    const id = sh(`podman inspect ${name} --format '{{.Id}}'`).out;
    const unit = `libpod-${id}.scope`;
    const active = sh(`systemctl is-active ${unit}`).out;
    const mem = scopeFile('machine.slice', unit, 'memory.max');
    const pids = scopeFile('machine.slice', unit, 'pids.max');
    if (active !== 'active' || mem !== '20971520' || pids !== '10') return `unit ${active}, memory.max ${mem}, pids.max ${pids}`;
    return undefined;
  }],
  ['podman exec', (_rt, _n, name) => {
    const r = sh(`podman exec ${name} /bin/sh -c 'echo in-$((1+1))'`);
    return r.out === 'in-2' ? undefined : `${r.status}: ${r.out}`;
  }],
  ['podman pause / unpause', (_rt, _n, name) => {
    const p = sh(`podman pause ${name} && podman inspect ${name} --format '{{.State.Status}}'`);
    const u = sh(`podman unpause ${name} && podman inspect ${name} --format '{{.State.Status}}'`);
    return p.out.endsWith('paused') && u.out.endsWith('running') ? undefined : `${p.out} / ${u.out}`;
  }],
  ['podman stats', (_rt, _n, name) => {
    const r = sh(`podman stats --no-stream --format '{{.MemLimit}}' ${name}`);
    return r.status === 0 && /^20971520$|20\.97 ?MB|20 ?MiB/.test(r.out) ? undefined : `${r.status}: ${r.out}`;
  }],
  ['podman stop + rm: no unit, no cgroup left', (_rt, _n, name) => {
    const id = sh(`podman inspect ${name} --format '{{.Id}}'`).out;
    const r = sh(`podman stop -t 2 ${name} && podman rm ${name}`);
    const unit = `libpod-${id}.scope`;
    if (r.status !== 0) return r.out;
    return unitGone(unit) && !existsSync(`/sys/fs/cgroup/machine.slice/${unit}`) ? undefined : `${unit} left: ${sh(`systemctl is-active ${unit}`).out}`;
  }],
  ['ctr run --rm (SystemdCgroup) in its scope', (rt, n) => {
    const r = sh(`ctr run --rm --runc-binary ${rt} --runc-systemd-cgroup --cgroup system.slice:smoke:c${n} --rootfs ${rootfs} c${n} /bin/cat /proc/self/cgroup`);
    return r.status === 0 && r.out.includes(`/system.slice/smoke-c${n}.scope`) ? undefined : `${r.status}: ${r.out}`;
  }],
  ['ctr run -d, task exec, kill, delete: no unit left', (rt, n) => {
    const id = `d${n}`;
    const unit = `smoke-${id}.scope`;
    const r = sh(`ctr run -d --runc-binary ${rt} --runc-systemd-cgroup --cgroup system.slice:smoke:${id} --rootfs ${rootfs} ${id} /bin/sleep 600`);
    if (r.status !== 0) return `run -d: ${r.out}`;
    const active = sh(`systemctl is-active ${unit}`).out;
    const e = sh(`ctr task exec --exec-id e1 ${id} /bin/echo exec-ok`);
    sh(`ctr task kill -s KILL ${id}; sleep 1; ctr task delete ${id}; ctr container delete ${id}`);
    if (active !== 'active' || e.out !== 'exec-ok') return `unit ${active}, exec ${e.out}`;
    return unitGone(unit) ? undefined : `${unit} left after delete`;
  }],
  ['a create that fails after the scope exists leaves no unit', (rt, n) => {
    const bundle = join(WORK, `bad${n}`);
    mkdirSync(bundle, { recursive: true });
    const spec = JSON.parse(sh(`cd ${bundle} && ${rt} spec && cat config.json`).out.replace(/^[^{]*/, ''));
    spec.root = { path: rootfs };
    spec.process.terminal = false;
    spec.linux.cgroupsPath = `system.slice:smoke:bad${n}`;
    spec.mounts.push({ destination: '/data', type: 'bind', source: '/nonexistent/source', options: ['rbind'] });
    writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec));
    const r = sh(`cd ${bundle} && ${rt} --systemd-cgroup create bad${n}`);
    sh(`${rt} --systemd-cgroup delete -f bad${n}`);
    if (r.status === 0) return 'create succeeded';
    return unitGone(`smoke-bad${n}.scope`) && !existsSync(`/sys/fs/cgroup/system.slice/smoke-bad${n}.scope`) ? undefined : 'unit or cgroup left';
  }],
  ['create killed at random moments, then delete -f: no unit, cgroup or state left', (rt, n) => {
    const bundle = join(WORK, `kill${n}`);
    mkdirSync(bundle, { recursive: true });
    const spec = JSON.parse(sh(`cd ${bundle} && ${rt} spec && cat config.json`).out.replace(/^[^{]*/, ''));
    spec.root = { path: rootfs };
    spec.process.terminal = false;
    spec.process.args = ['/bin/sleep', '600'];
    writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec));
    const seen: string[] = [];
    // create takes seconds under emulation: kills spread over all of it
    for (const ms of [300, 1500, 4000, 8000, 14000]) {
      const id = `k${n}x${ms}`;
      sh(`cd ${bundle} && (${rt} --systemd-cgroup create --pid-file /dev/null ${id} >/dev/null 2>&1 & p=$!; sleep ${ms / 1000}; kill -9 $p 2>/dev/null; wait $p 2>/dev/null); true`);
      sh(`${rt} --systemd-cgroup delete -f ${id}`);
      const unit = `${rt.includes('runts') ? 'runts' : 'runc'}-${id}.scope`;
      if (!unitGone(unit) || existsSync(`/sys/fs/cgroup/system.slice/${unit}`)) seen.push(`${ms} ms: ${unit} left`);
    }
    return seen.length === 0 ? undefined : seen.join('; ');
  }],
];

const results: Record<string, Record<string, string>> = {};
let failedFirst = 0;
runtimes.forEach((rt, k) => {
  checks.forEach(([name, fn], i) => {
    let why: string | undefined;
    try {
      why = fn(rt, k * 100 + i, `smoke${k}`);
    } catch (err) {
      why = String(err);
    }
    (results[name] ??= {})[rt] = why === undefined ? 'pass' : 'FAIL';
    process.stdout.write(`${why === undefined ? 'ok  ' : 'FAIL'} ${rt}: ${name}${why === undefined ? '' : `: ${why}`}\n`);
    if (why !== undefined && k === 0) failedFirst++;
  });
});
const left = leftUnits('*smoke*') + leftUnits('libpod-*');
if (left) process.stdout.write(`units left:\n${left}\n`);
process.stdout.write(`\n| check | ${runtimes.join(' | ')} |\n|---|${runtimes.map(() => '---').join('|')}|\n`);
for (const [name, byRt] of Object.entries(results)) process.stdout.write(`| ${name} | ${runtimes.map((r) => byRt[r]).join(' | ')} |\n`);
process.exit(failedFirst > 0 || (left && runtimes.length === 1) ? 1 : 0);
