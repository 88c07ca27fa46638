import { spawn, spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The benchmark runs inside a private mount namespace of its own. crun refuses a hybrid
 * cgroup host (v1 controllers plus a cgroup2 mount); with the cgroup2 mount's
 * cgroup.controllers hidden under an empty file, every runtime sees the same pure v1 host,
 * and the host's own mounts are never touched.
 */
const MARKER = 'RUNTS_BENCH_IN_NAMESPACE';
const UNIFIED_CONTROLLERS = '/sys/fs/cgroup/unified/cgroup.controllers';

export function insideNamespace(): boolean {
  return process.env[MARKER] === '1';
}

/** Runs this same benchmark again under `unshare` and resolves to its exit code. */
export function reexecInNamespace(): Promise<number> {
  const child = spawn(
    'unshare',
    ['--mount', '--propagation', 'private', process.execPath, ...process.execArgv, process.argv[1], ...process.argv.slice(2)],
    { stdio: 'inherit', env: { ...process.env, [MARKER]: '1' } },
  );
  // Ctrl-C reaches the child from the terminal, and the child cleans up before it exits:
  // this process only waits for it. Signals sent to this process alone are passed on.
  process.on('SIGINT', () => {});
  for (const sig of ['SIGTERM', 'SIGHUP'] as const) process.on(sig, () => child.kill(sig));
  return new Promise((resolve) => {
    child.on('error', (e) => {
      process.stderr.write(`bench: cannot run unshare (util-linux): ${e.message}\n`);
      resolve(1);
    });
    child.on('exit', (code, signal) => resolve(code ?? (signal === 'SIGINT' ? 130 : 1)));
  });
}

/** The environment every measured command gets: this one without the marker or extra CA certificates. */
export function measuredEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env[MARKER];
  // Loading the CA bundle costs every Node start ~45 ms; no runtime needs it.
  delete env.NODE_EXTRA_CA_CERTS;
  return env;
}

/**
 * Hides the cgroup2 mount of a hybrid host, inside this namespace only, and says what
 * cgroup layout the runtimes see.
 */
export function hideCgroup2(workDir: string): string {
  if (!existsSync(UNIFIED_CONTROLLERS)) {
    return existsSync('/sys/fs/cgroup/cgroup.controllers') ? 'v2' : 'v1';
  }
  const empty = join(workDir, 'empty');
  writeFileSync(empty, '');
  const r = spawnSync('mount', ['--bind', empty, UNIFIED_CONTROLLERS], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    throw new Error(`cannot hide ${UNIFIED_CONTROLLERS}: ${r.error?.message ?? r.stderr.trim()}`);
  }
  return 'v1 (a hybrid host; its cgroup2 mount hidden in the benchmark\'s mount namespace)';
}
