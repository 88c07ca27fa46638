import t from 'tap';
import { spawn } from 'node:child_process';
import { Sandbox, baseConfig, sharedRootfs } from '../helpers/containers.js';

/**
 * A setup program of well over 10,000 steps runs to its end in the forked child, again
 * and again while other processes load the machine: its JavaScript never waits for a V8
 * thread that fork() did not copy (src/sys/fork.ts).
 */

const rootfs = sharedRootfs(t);
const MOUNTS = 2000;

t.test(`${MOUNTS} mounts, five times under load`, async (t) => {
  const sb = new Sandbox(t);
  // two processes keep both cores busy with JavaScript, allocation and GC for the test's length
  const load = [0, 1].map(() => spawn(process.execPath, ['-e', `
    const end = Date.now() + 120000; let keep = [];
    while (Date.now() < end) { keep.push(new Array(1000).fill(Math.random())); if (keep.length > 500) keep = []; }`], { stdio: 'ignore' }));
  t.teardown(() => load.forEach((p) => p.kill('SIGKILL')));
  const config = baseConfig(rootfs, ['sh', '-c', 'grep -c " /tmp/m" /proc/self/mountinfo']);
  for (let i = 0; i < MOUNTS; i++) {
    config.mounts.push({ destination: `/tmp/m${i}`, type: 'tmpfs', source: 'tmpfs', options: ['size=16k'] });
  }
  const bundle = sb.bundle(config);
  for (let round = 0; round < 5; round++) {
    const r = sb.runts(['--debug', 'run', '--bundle', bundle, `long${round}`], { timeout: 120_000 });
    t.equal(r.status, 0, `round ${round}: ${r.stderr.split('\n').filter((l) => !l.includes('debug')).join('\n')}`);
    t.equal(r.stdout.trim(), String(MOUNTS), `round ${round}: every mount made`);
    const steps = /init program: (\d+) instructions/.exec(r.stderr);
    if (round === 0) t.ok(steps && Number(steps[1]) > 10_000, `the program has ${steps?.[1]} steps`);
  }
});
