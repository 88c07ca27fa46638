import { spawnSync } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: this file runs as dist/test/helpers/containers.js. */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const RUNTS = join(REPO_ROOT, 'bin', 'runts');
const BUILD_ROOTFS = join(REPO_ROOT, 'bundles', 'busybox', 'build-rootfs.sh');

interface Teardown {
  teardown(fn: () => void | Promise<void>): void;
}

const ENV = { ...process.env };
delete ENV.NODE_EXTRA_CA_CERTS;
// The test runner's loaders are for the tests, not for the runtime under test.
delete ENV.NODE_OPTIONS;

/** A busybox rootfs shared by the tests of one file, built once and removed at the end. */
export function sharedRootfs(t: Teardown): string {
  const dir = mkdtempSync(join(tmpdir(), 'runts-rootfs-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // reachable by the unprivileged host ids a user namespace maps to
  chmodSync(dir, 0o755);
  const rootfs = join(dir, 'rootfs');
  const r = spawnSync(BUILD_ROOTFS, [rootfs], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`build-rootfs failed: ${r.stderr}`);
  return rootfs;
}

/** The example bundle's config with `args`, on `rootfs`, changed by `edit`. */
export function baseConfig(rootfs: string, args: string[]): any {
  const config = JSON.parse(readFileSync(join(REPO_ROOT, 'bundles', 'busybox', 'config.json'), 'utf8'));
  config.root = { path: rootfs, readonly: true };
  config.process.args = args;
  return config;
}

/**
 * A private state root and bundles for one test; at teardown every container in the root
 * is force-deleted and the directories removed, whatever the test did.
 */
export class Sandbox {
  readonly root: string;
  readonly dir: string;
  private n = 0;

  constructor(t: Teardown) {
    this.dir = mkdtempSync(join(tmpdir(), 'runts-test-'));
    this.root = join(this.dir, 'state');
    t.teardown(() => this.cleanup());
  }

  /**
   * A bundle for `config`. Without a cgroupsPath the container id names the cgroup, and
   * test files running side by side reuse ids: each sandbox gets its own cgroup parent.
   */
  bundle(config: any): string {
    if (config.linux && config.linux.cgroupsPath === undefined) {
      config.linux.cgroupsPath = `/runts-test-${process.pid}-${this.n}`;
    }
    const b = join(this.dir, `bundle${this.n++}`);
    mkdirSync(b);
    writeFileSync(join(b, 'config.json'), JSON.stringify(config, null, 2));
    return b;
  }

  /**
   * Runs runts. A container inherits runts' stdio, so a command that leaves a container
   * running (create, run --detach) gets files rather than pipes: a pipe would stay open,
   * and spawnSync would wait for it.
   */
  runts(args: string[], opts: { timeout?: number } = {}): { status: number | null; stdout: string; stderr: string } {
    const argv = ['--root', this.root, ...args];
    // the command is the first word after the global flags (--systemd-cgroup…)
    const command = args.find((a) => !a.startsWith('-'));
    const leavesRunning = command === 'create' || (command === 'run' && args.includes('--detach'));
    if (!leavesRunning) {
      const r = spawnSync(RUNTS, argv, { encoding: 'utf8', env: ENV, input: '', timeout: opts.timeout ?? 30_000 });
      return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    }
    const out = join(this.dir, `out${this.n}`);
    const err = join(this.dir, `err${this.n++}`);
    const fds = [openSync(out, 'w'), openSync(err, 'w')];
    try {
      const r = spawnSync(RUNTS, argv, { env: ENV, stdio: ['ignore', fds[0], fds[1]], timeout: opts.timeout ?? 30_000 });
      return { status: r.status, stdout: readFileSync(out, 'utf8'), stderr: readFileSync(err, 'utf8') };
    } finally {
      fds.forEach((fd) => closeSync(fd));
    }
  }

  state(id: string): any {
    const r = this.runts(['state', id]);
    if (r.status !== 0) throw new Error(`state ${id}: ${r.stderr}`);
    return JSON.parse(r.stdout);
  }

  cleanup(): void {
    if (existsSync(this.root)) {
      for (const id of readdirSync(this.root)) this.runts(['delete', '--force', id]);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The pids of a process's children (none once it is gone): /proc/<pid>/task/<pid>/children. */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'latin1').trim().split(' ').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Polls until `fn` is true or `ms` passed. */
export async function until(fn: () => boolean, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (fn()) return true;
    await sleep(10);
  }
  return fn();
}
