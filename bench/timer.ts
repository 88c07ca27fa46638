import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** How one run of a command ended. */
export type Outcome =
  | { kind: 'exit'; code: number }
  | { kind: 'signal'; signal: number }
  | { kind: 'error'; errno: number };

/** One run of a command, as exec-timer measured it. */
export interface Run {
  index: number;
  startNs: bigint;
  endNs: bigint;
  wallMs: number;
  outcome: Outcome;
  /** ru_maxrss from wait4(): the largest RSS of the process or any child it waited for. */
  maxRssKiB: number;
  userMs: number;
  sysMs: number;
}

/** One call of exec-timer: `count` runs, `jobs` at a time. */
export interface Invocation {
  runs: Run[];
  /** From the first run's start to the last run's end. */
  spanMs: number;
  stdout: string;
  stderr: string;
}

export interface InvokeOptions {
  jobs?: number;
  count?: number;
  timeoutMs: number;
}

const nsToMs = (ns: bigint): number => Number(ns) / 1e6;

function parseOutcome(text: string): Outcome {
  const [kind, value] = text.split(':');
  const n = Number(value);
  if (kind === 'exit') return { kind: 'exit', code: n };
  if (kind === 'signal') return { kind: 'signal', signal: n };
  return { kind: 'error', errno: n };
}

export function succeeded(run: Run): boolean {
  return run.outcome.kind === 'exit' && run.outcome.code === 0;
}

export function describeOutcome(outcome: Outcome): string {
  switch (outcome.kind) {
    case 'exit':
      return `exit status ${outcome.code}`;
    case 'signal':
      return `killed by signal ${outcome.signal}`;
    case 'error':
      return `could not be started (errno ${outcome.errno})`;
  }
}

/**
 * Runs commands under the exec-timer helper (bench/exec-timer.c), which the benchmark
 * compiles into its work directory on each run: the numbers come from the helper, so
 * Node's own spawn overhead and memory stay out of them.
 */
export class ExecTimer {
  private constructor(
    private readonly binary: string,
    private readonly dir: string,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  static build(source: string, dir: string, env: NodeJS.ProcessEnv): ExecTimer {
    const binary = join(dir, 'exec-timer');
    const cc = spawnSync('cc', ['-O2', '-o', binary, source], { encoding: 'utf8' });
    if (cc.error || cc.status !== 0) {
      const why = cc.error ? cc.error.message : cc.stderr.trim();
      throw new Error(
        `cannot compile the exec timer (${source}) with cc: ${why}\n` +
          'a C compiler is needed; on Debian: apt-get install gcc',
      );
    }
    return new ExecTimer(binary, dir, env);
  }

  /**
   * Runs argv `count` times, `jobs` at a time, and waits for all of them. The helper gets
   * a session of its own, so a Ctrl-C at the terminal reaches the benchmark, which then
   * cleans up, and never a runtime halfway through creating a container. The commands'
   * output goes to files, not pipes: a detached container keeps the runtime's stdout open
   * and a pipe would not reach end-of-file until the container exits.
   */
  invoke(argv: string[], options: InvokeOptions): Invocation {
    const { jobs = 1, count = 1, timeoutMs } = options;
    const outPath = join(this.dir, 'stdout');
    const errPath = join(this.dir, 'stderr');
    const resultsPath = join(this.dir, 'results');
    const out = openSync(outPath, 'w');
    const err = openSync(errPath, 'w');
    const results = openSync(resultsPath, 'w');
    // spawnSync honours `detached` (setsid) as spawn does, though its type leaves it out.
    const spawnOptions: SpawnSyncOptions & { detached: boolean } = {
      stdio: ['ignore', out, err, results],
      env: this.env,
      detached: true,
      timeout: timeoutMs,
      killSignal: 'SIGKILL',
    };
    let r;
    try {
      r = spawnSync(this.binary, [String(jobs), String(count), ...argv], spawnOptions);
    } finally {
      closeSync(out);
      closeSync(err);
      closeSync(results);
    }
    const stdout = readFileSync(outPath, 'utf8');
    const stderr = readFileSync(errPath, 'utf8');
    if (r.error || r.status !== 0) {
      // The helper leads its own process group: take the runtimes it started down with it.
      if (r.pid) {
        try {
          process.kill(-r.pid, 'SIGKILL');
        } catch {
          // the group is already gone
        }
      }
      const timedOut = (r.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT';
      const why = timedOut
        ? `no end after ${timeoutMs / 1000} s`
        : `the exec timer failed: ${r.error?.message ?? `exit status ${r.status ?? r.signal}`}`;
      const lastLines = stderr.trim().split('\n').slice(-3).join(' | ');
      throw new Error(lastLines ? `${why}; it printed: ${lastLines}` : why);
    }
    return { ...parseResults(readFileSync(resultsPath, 'utf8')), stdout, stderr };
  }
}

function parseResults(text: string): { runs: Run[]; spanMs: number } {
  const runs: Run[] = [];
  let spanMs = 0;
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    if (f[0] === 'run') {
      const startNs = BigInt(f[2]);
      const endNs = BigInt(f[3]);
      runs.push({
        index: Number(f[1]),
        startNs,
        endNs,
        wallMs: nsToMs(endNs - startNs),
        outcome: parseOutcome(f[4]),
        maxRssKiB: Number(f[5]),
        userMs: Number(f[6]) / 1000,
        sysMs: Number(f[7]) / 1000,
      });
    } else if (f[0] === 'span') {
      spanMs = nsToMs(BigInt(f[2]) - BigInt(f[1]));
    }
  }
  runs.sort((a, b) => a.index - b.index);
  return { runs, spanMs };
}
