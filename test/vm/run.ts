import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureImage } from './image.js';
import { boot, guest, guestSync, stop } from './machine.js';

/**
 * `npm run test:vm`: runts on the host most users have (Debian 12, systemd as PID 1, pure
 * cgroup v2, AppArmor), in a qemu VM built from Debian's packages (image.ts). Builds or
 * reuses the image, boots it, copies this checkout in (built, with its node_modules),
 * and runs inside: the kernel tests, the conformance suite, and the engines' smoke test
 * (Podman with its systemd cgroup manager, containerd with SystemdCgroup = true) against
 * runts and runc side by side. Prints what each suite did; exit status 1 if one failed.
 *
 *   --suites kernel,conformance,smoke   which suites (default: all three)
 *   --tests 'dist/test/container/x.test.js …'   the kernel test files (default: every
 *       test of test/container, test/security and test/cli)
 *   --smoke-runtimes runts,runc   whom the smoke test drives (default: both, side by side)
 *   env RUNTS_VM_DIR (image and boot files; default /var/tmp/runts-test-vm),
 *       RUNTS_VM_PORT (ssh on 127.0.0.1; default 10122), RUNTS_VM_ACCEL=tcg, RUNTS_VM_MEM
 */

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const say = (s: string) => process.stdout.write(`[vm] ${s}\n`);

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}

const suites = option('--suites', 'kernel,conformance,smoke').split(',');
const tests = option('--tests', 'dist/test/container/*.test.js dist/test/security/*.test.js dist/test/cli/*.test.js');
const RUNTIMES: Record<string, string> = { runts: '/root/runts/bin/runts', runc: '/usr/sbin/runc', crun: '/usr/bin/crun' };
const smokeRuntimes = option('--smoke-runtimes', 'runts,runc').split(',').map((r) => RUNTIMES[r] ?? r);
const dir = process.env.RUNTS_VM_DIR ?? '/var/tmp/runts-test-vm';
const port = Number(process.env.RUNTS_VM_PORT ?? 10122);

async function main(): Promise<number> {
  const t0 = Date.now();
  const img = ensureImage(dir, say);
  const share = mkdtempSync(join(tmpdir(), 'runts-vm-share-'));
  // One archive over 9p (thousands of small files through it take minutes); what only
  // builds (the compilers) stays behind.
  say('staging this checkout');
  const tar = spawnSync('tar', ['-czf', join(share, 'runts.tgz'), '--exclude=./.git', '--exclude=./node_modules/typescript',
    '--exclude=./node_modules/esbuild', '--exclude=./node_modules/@esbuild', '-C', REPO, '.'], { encoding: 'utf8' });
  if (tar.status !== 0) throw new Error(`tar: ${tar.stderr}`);
  const m = await boot(img, share, port, say);
  const results: [string, string, number][] = [];
  try {
    const x = guestSync(m, 'mkdir -p /root/runts && tar -xzf /mnt/host/runts.tgz -C /root/runts && sed -i "1s|.*|/usr/bin/node|" /root/runts/dist/node && '
      + 'systemctl is-system-running; cat /sys/fs/cgroup/cgroup.controllers; aa-status --enabled && echo apparmor on', 600_000);
    say(`guest: ${x.out.replace(/\n/g, '; ')}`);
    const suite = async (name: string, command: string, timeoutMs: number) => {
      const s0 = Date.now();
      say(`--- ${name}`);
      const status = await guest(m, `cd /root/runts && ${command}`, timeoutMs);
      const secs = Math.round((Date.now() - s0) / 1000);
      results.push([name, status === 0 ? 'passed' : `FAILED (${status})`, secs]);
      say(`--- ${name}: ${status === 0 ? 'passed' : `failed (${status})`} in ${secs} s`);
    };
    if (suites.includes('kernel')) {
      // The whole TAP stream stays in the guest's log; what comes out is each file's result
      // and every failed assertion with its diagnostics.
      await suite('kernel tests', `node_modules/.bin/tap --jobs 1 --timeout 1800 --reporter tap ${tests} > /var/tmp/kernel.tap 2>&1; s=$?; `
        + 'grep -E "^(not )?ok |^# \\{" /var/tmp/kernel.tap; grep -E -A30 "^ +not ok" /var/tmp/kernel.tap | head -400; exit $s', 50 * 60_000);
    }
    if (suites.includes('smoke')) {
      await suite(`engines smoke (${smokeRuntimes.join(' | ')})`, `node dist/test/vm/smoke.js ${smokeRuntimes.join(' ')}`, 30 * 60_000);
    }
    if (suites.includes('conformance')) {
      await suite('conformance', 'node dist/conformance/run.js', 40 * 60_000);
    }
  } finally {
    stop(m);
    rmSync(share, { recursive: true, force: true });
  }
  say(`done in ${Math.round((Date.now() - t0) / 1000)} s`);
  for (const [name, result, secs] of results) say(`${result.padEnd(12)} ${name} (${secs} s)`);
  return results.every(([, r]) => r === 'passed') ? 0 : 1;
}

main().then((code) => process.exit(code), (err) => {
  process.stderr.write(`[vm] ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
