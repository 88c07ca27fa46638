import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, RUNTS, baseConfig } from '../helpers/containers.js';

/**
 * `npm run stress [-- N]`: N container lifecycles (create, start, wait for stopped,
 * delete), alternating with and without a user namespace, while other processes load the
 * machine with CPU, garbage collection and file-system work. Counts hangs (a command that
 * does not finish in time) and crashes (a command that dies or fails); both must be 0.
 */

const N = Number(process.argv[2] ?? process.env.STRESS_N ?? 2000);
const TIMEOUT_MS = 20_000;
const env = { ...process.env };
delete env.NODE_EXTRA_CA_CERTS;
delete env.NODE_OPTIONS;

const LOAD = `
const fs = require('fs');
const parent = Number(process.argv[1]);
setInterval(() => { try { process.kill(parent, 0); } catch { process.exit(0); } }, 200);
let keep = [];
setInterval(() => { for (let i = 0; i < 2e4; i++) keep.push({ i, s: 'x'.repeat(i % 64) }); if (keep.length > 4e5) keep = []; }, 1);
setInterval(() => { for (let i = 0; i < 8; i++) fs.stat('/proc/self/status', () => {}); }, 1);
`;

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  hung: boolean;
}

function runts(root: string, args: string[]): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = spawn(RUNTS, ['--root', root, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve({ code: null, signal: 'SIGKILL', stderr, hung: true });
    }, TIMEOUT_MS);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stderr, hung: false });
    });
  });
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'runts-stress-'));
  chmodSync(dir, 0o755);
  const root = join(dir, 'state');
  const rootfs = join(dir, 'rootfs');
  const built = spawnSync(join(REPO_ROOT, 'bundles', 'busybox', 'build-rootfs.sh'), [rootfs], { encoding: 'utf8' });
  if (built.status !== 0) throw new Error(built.stderr);
  const bundles = [false, true].map((userns, i) => {
    const config = baseConfig(rootfs, ['true']);
    if (userns) {
      config.linux.namespaces.push({ type: 'user' });
      config.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      config.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    }
    const b = join(dir, `bundle${i}`);
    mkdirSync(b);
    writeFileSync(join(b, 'config.json'), JSON.stringify(config));
    return b;
  });
  const load: ChildProcess[] = [0, 1].map(() => spawn(process.execPath, ['-e', LOAD, String(process.pid)], { stdio: 'ignore' }));
  let hangs = 0;
  let crashes = 0;
  const started = Date.now();
  try {
    for (let i = 0; i < N; i++) {
      const id = `s${i}`;
      const bundle = bundles[i % 2];
      const problems: string[] = [];
      const step = async (args: string[]) => {
        const o = await runts(root, args);
        if (o.hung) {
          hangs++;
          problems.push(`${args[0]} hung`);
        } else if (o.code !== 0) {
          crashes++;
          problems.push(`${args[0]} ${o.signal ? `killed by ${o.signal}` : `exited ${o.code}`}: ${o.stderr.trim()}`);
        }
        return o;
      };
      await step(['create', '--bundle', bundle, id]);
      if (!problems.length) await step(['start', id]);
      if (!problems.length) {
        const end = Date.now() + TIMEOUT_MS;
        for (;;) {
          const r = spawnSync(RUNTS, ['--root', root, 'state', id], { env, encoding: 'utf8' });
          if (r.status === 0 && JSON.parse(r.stdout).status === 'stopped') break;
          if (Date.now() > end) {
            hangs++;
            problems.push('container never stopped');
            break;
          }
        }
      }
      await step(['delete', '--force', id]);
      if (problems.length) process.stdout.write(`lifecycle ${i} (${i % 2 ? 'user ns' : 'no user ns'}): ${problems.join('; ')}\n`);
      if ((i + 1) % 100 === 0) process.stdout.write(`${i + 1}/${N} lifecycles, ${hangs} hangs, ${crashes} crashes\n`);
    }
  } finally {
    for (const l of load) l.kill('SIGKILL');
    for (const id of (() => { try { return readdirSync(root); } catch { return []; } })()) {
      spawnSync(RUNTS, ['--root', root, 'delete', '--force', id], { env });
    }
    rmSync(dir, { recursive: true, force: true });
  }
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  process.stdout.write(`${N} lifecycles in ${secs} s under load: ${hangs} hangs, ${crashes} crashes\n`);
  process.exitCode = hangs || crashes ? 1 : 0;
}

await main();
