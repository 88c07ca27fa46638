import { accessSync, closeSync, constants, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ChargeProbe } from './cgroups.js';
import { benchLibc, type Spawner } from './libc.js';

/** How one run of a command ended. */
export type Outcome =
  | { kind: 'exit'; code: number }
  | { kind: 'signal'; signal: number }
  | { kind: 'error'; errno: number };

/** One run of a command. */
export interface Run {
  index: number;
  startNs: bigint;
  endNs: bigint;
  wallMs: number;
  outcome: Outcome;
  /**
   * ru_maxrss as GNU time reported it: the largest RSS of the process or of any child it
   * waited for. Only a run invoked with `peakRss` has one.
   */
  maxRssKiB: number | null;
  /**
   * User + system CPU time, ms, of the command and the children it waited for (wait4's
   * rusage); under GNU time, GNU time's own as well.
   */
  cpuMs: number;
  /**
   * Peak memory charged to the command and what it forked (see ChargeProbe): only a run
   * invoked with `peakRss`, one at a time, on a cgroup v1 host.
   */
  chargedKiB: number | null;
}

/** One invocation: `count` runs, `jobs` at a time. */
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
  /** For the whole invocation. */
  timeoutMs: number;
  /** Runs each command under GNU time, for its peak RSS; its time then counts GNU time's too. */
  peakRss?: boolean;
}

/** Debian's package `time`; 1.8 or later (1.7 reported four times the real figure). */
const GNU_TIME = '/usr/bin/time';

const nsToMs = (ns: bigint): number => Number(ns) / 1e6;

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

/** A wait status as waitpid(2) gives it; nothing is traced or stopped here. */
function decodeStatus(status: number): Outcome {
  const signal = status & 0x7f;
  return signal === 0 ? { kind: 'exit', code: (status >> 8) & 0xff } : { kind: 'signal', signal };
}

/**
 * What GNU time wrote with `-f %M`: the peak RSS on the last line, after a line such as
 * "Command terminated by signal 9" when the command did not exit 0. GNU time exits with
 * the command's status, or 128 plus the signal that killed it, so only that line tells the
 * two apart. Nothing is there if GNU time itself was killed.
 */
function readPeakRss(path: string): { kib: number | null; signal: number | null } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return { kib: null, signal: null };
  }
  const lines = text.trim().split('\n');
  const kib = Number(lines[lines.length - 1]);
  const signal = /^Command terminated by signal (\d+)$/m.exec(text);
  return { kib: Number.isInteger(kib) ? kib : null, signal: signal ? Number(signal[1]) : null };
}

interface Pending {
  index: number;
  pid: number;
  startNs: bigint;
  peakFile: string | null;
}

/**
 * Times commands from this process, with posix_spawn through koffi (see Spawner in
 * libc.ts): CLOCK_MONOTONIC (process.hrtime) is read right before posix_spawn() and right
 * after the command's pidfd reports its exit, so the window holds the command's start, run
 * and exit and nothing of Node's own spawn path. The clock is the one waitExit reads, so
 * the two compare.
 *
 * The peak RSS cannot be taken the same way. At execve() the kernel records the high-water
 * mark of the address space being replaced as the process's maxrss, and a process started
 * from Node replaces Node's (shared, with vfork semantics) or a copy of it (with fork()):
 * wait4() would report Node's ~45 MiB for every command, /bin/true included. Neither does
 * an exec through a small program help (`sh -c 'exec CMD'`): the figure is a maximum, and
 * the shell's own execve has already recorded Node's. The process must be created by a
 * small one, and waited for by it: GNU time does both, so a run with `peakRss` is started
 * as `time -f %M -o FILE CMD`, and GNU time's fork of itself holds about 0.1 MiB when the
 * command's execve records it, less than /bin/true's own 1.0 MiB. GNU time's own start (an
 * execve, a fork and the reaping: 6 ms and more on a loaded machine) is in such a run's
 * time, which is why the benchmark keeps its peak RSS runs apart from its timed runs.
 * docs/benchmarks.md has the measurements.
 */
export class ExecTimer {
  private readonly env: string[];

  constructor(
    /** Where the commands' output and GNU time's reports go. */
    private readonly dir: string,
    env: NodeJS.ProcessEnv,
    /** Where the memory charged to commands run with `peakRss` is measured, if anywhere. */
    private readonly charge: ChargeProbe | null = null,
  ) {
    try {
      accessSync(GNU_TIME, constants.X_OK);
    } catch {
      throw new Error(`${GNU_TIME} (GNU time) is needed for the peak RSS of each command; on Debian: apt-get install time`);
    }
    this.env = Object.entries(env).flatMap(([name, value]) => (value === undefined ? [] : [`${name}=${value}`]));
  }

  /**
   * Runs argv `count` times, `jobs` at a time, and waits for all of them; "{}" in an
   * argument becomes the run's index, 0 to count-1, so that parallel runs can name different
   * containers. The commands' output goes to files, not pipes: a detached container keeps
   * the runtime's stdout open and a pipe would not reach end-of-file until it exits. On
   * time-out every run still going is killed with its session, and this throws.
   */
  invoke(argv: string[], options: InvokeOptions): Invocation {
    const { jobs = 1, count = 1, timeoutMs, peakRss = false } = options;
    const charge = peakRss && jobs === 1 ? this.charge : null;
    const libc = benchLibc();
    const outPath = join(this.dir, 'stdout');
    const errPath = join(this.dir, 'stderr');
    const out = openSync(outPath, 'w');
    const err = openSync(errPath, 'w');
    const running = new Map<number, Pending>();
    const runs: Run[] = [];
    const deadline = Date.now() + timeoutMs;
    let next = 0;
    let firstStart = 0n;
    let lastEnd = 0n;
    let spawner: Spawner | undefined;
    try {
      spawner = libc.spawner(this.env, out, err);
      while (runs.length < count) {
        while (running.size < jobs && next < count) {
          const index = next++;
          const command = argv.map((a) => a.replaceAll('{}', String(index)));
          const peakFile = peakRss ? join(this.dir, `peak-rss-${index}`) : null;
          // A report left from an earlier invocation must not pass for this run's.
          if (peakFile) rmSync(peakFile, { force: true });
          const startNs = process.hrtime.bigint();
          charge?.enter();
          let spawned;
          try {
            spawned = spawner.spawn(peakFile ? [GNU_TIME, '-f', '%M', '-o', peakFile, ...command] : command);
          } finally {
            charge?.leave();
          }
          if (index === 0) firstStart = startNs;
          if ('errno' in spawned) {
            lastEnd = process.hrtime.bigint();
            const outcome: Outcome = { kind: 'error', errno: spawned.errno };
            runs.push({ index, startNs, endNs: lastEnd, wallMs: nsToMs(lastEnd - startNs), outcome, maxRssKiB: null, cpuMs: 0, chargedKiB: null });
            continue;
          }
          const pidfd = libc.pidfdOpen(spawned.pid);
          // pidfdOpen gives -1 only for a process that is gone, which a child not yet reaped is not.
          if (pidfd < 0) throw new Error(`pidfd_open found no process ${spawned.pid}, a child not yet reaped`);
          running.set(pidfd, { index, pid: spawned.pid, startNs, peakFile });
        }
        if (running.size === 0) continue;
        const exited = libc.waitAnyExit([...running.keys()], deadline - Date.now());
        const endNs = process.hrtime.bigint();
        if (exited.length === 0) {
          const lastLines = readFileSync(errPath, 'utf8').trim().split('\n').slice(-3).join(' | ');
          const why = `no end after ${timeoutMs / 1000} s`;
          throw new Error(lastLines ? `${why}; it printed: ${lastLines}` : why);
        }
        for (const pidfd of exited) {
          const p = running.get(pidfd)!;
          running.delete(pidfd);
          libc.close(pidfd);
          const reaped = libc.reap(p.pid);
          let outcome = decodeStatus(reaped.status);
          let maxRssKiB: number | null = null;
          if (p.peakFile) {
            const peak = readPeakRss(p.peakFile);
            maxRssKiB = peak.kib;
            if (peak.signal !== null) outcome = { kind: 'signal', signal: peak.signal };
          }
          runs.push({ index: p.index, startNs: p.startNs, endNs, wallMs: nsToMs(endNs - p.startNs), outcome, maxRssKiB, cpuMs: reaped.cpuMs, chargedKiB: charge ? charge.peakKiB() : null });
          lastEnd = endNs;
        }
      }
    } finally {
      spawner?.close();
      // Whatever is left after a time-out or an error: each run leads its own session, and
      // the benchmark reaps the killed processes with the containers' orphans.
      for (const [pidfd, p] of running) {
        try {
          process.kill(-p.pid, 'SIGKILL');
        } catch {
          // the group is already gone
        }
        libc.close(pidfd);
      }
      closeSync(out);
      closeSync(err);
    }
    runs.sort((a, b) => a.index - b.index);
    return {
      runs,
      spanMs: nsToMs(lastEnd - firstStart),
      stdout: readFileSync(outPath, 'utf8'),
      stderr: readFileSync(errPath, 'utf8'),
    };
  }
}
