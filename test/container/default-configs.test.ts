import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RUNTS, Sandbox, sharedRootfs } from '../helpers/containers.js';

/**
 * The configs other runtimes write with `spec` run as they are, but for the command and
 * the rootfs: engines and their tests start from them.
 */

const rootfs = sharedRootfs(t);
const SCRIPT = 'echo inside; grep -E "^Cap(Eff|Amb)" /proc/self/status';

/** The config.json `<runtime> spec` writes, or undefined when that runtime is not installed. */
function writtenBy(runtime: string): any {
  const dir = mkdtempSync(join(tmpdir(), `runts-${runtime}-spec-`));
  try {
    const r = spawnSync(runtime, ['spec'], { cwd: dir, encoding: 'utf8' });
    if (r.error || r.status !== 0) return undefined;
    return JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const runtime of ['runc', 'crun']) {
  const config = writtenBy(runtime);
  t.test(`the config \`${runtime} spec\` writes`, { skip: config ? false : `${runtime} is not installed` }, async (t) => {
    config.process.args = ['sh', '-c', SCRIPT];
    config.root.path = rootfs;
    const sb = new Sandbox(t);
    // process.terminal is true in both: `run` in the foreground relays the pty
    const r = spawnSync(RUNTS, ['--root', sb.root, 'run', '--bundle', sb.bundle(config), `${runtime}-default`], {
      input: '', encoding: 'utf8', timeout: 30_000, killSignal: 'SIGKILL',
    });
    t.equal(r.status, 0, r.stderr);
    t.equal(r.stderr, '', 'no warning');
    const lines = r.stdout.split('\r\n');
    t.equal(lines[0], 'inside');
    // CAP_AUDIT_WRITE, CAP_KILL, CAP_NET_BIND_SERVICE
    t.match(lines[1], /^CapEff:\s+0000000020000420$/, 'the effective capabilities asked for');
    t.match(lines[2], /^CapAmb:\s+0000000000000000$/, 'no ambient ones, as with runc: none is inheritable');
  });
}
