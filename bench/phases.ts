import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Bundles, type Limits } from './bundle.js';
import { readCreatedUsage, readLimit, type CgroupVersion, type CreatedUsage } from './cgroups.js';
import type { BenchLibc } from './libc.js';
import { cli, type Runtime } from './runtimes.js';
import { describeOutcome, succeeded, type ExecTimer, type Invocation, type InvokeOptions, type Run } from './timer.js';

/** Everything timed, each kept apart. */
export const PHASES = ['run', 'create', 'state', 'start', 'kill', 'delete', 'lifecycle', 'sequential', 'parallel'] as const;
export type Phase = (typeof PHASES)[number];

export interface PhaseData {
  /** One per sample of the time pass; for the two bursts, the whole burst's wall time. */
  wallMs: number[];
  /** User + system CPU, ms, of the same samples: the commands' own and their waited-for children's. */
  cpuMs: number[];
  /** Peak RSS of each CLI invocation counted in this phase, from the peak RSS pass. */
  rssKiB: number[];
  /** Peak memory charged to each (ChargeProbe), from the same pass: the part not shared. */
  chargedKiB: number[];
  /** The bursts' single runs, each timed on its own. */
  runWallMs: number[];
  failures: string[];
}

export interface LimitCheck {
  tried: number;
  /** `run` of /bin/true under the limit exited 0. */
  started: number;
  /** The created container's cgroup held the limit asked for. */
  applied: number;
  error?: string;
}

export interface RuntimeResults {
  phases: Record<Phase, PhaseData>;
  /** The container's cgroup while `created`, once per create/start/state/delete sample. */
  created: CreatedUsage[];
  /** Samples in which the container's cgroup was not where cgroupsPath put it. */
  cgroupMissing: number;
  limits: { memory: LimitCheck; pids: LimitCheck };
  /** Containers a runtime left in its state directory after they should have been gone. */
  leftovers: number;
  /**
   * The largest peak RSS of any of the runtime's commands in the peak RSS pass: bursts,
   * limit checks and forced deletes too.
   */
  maxRssKiB: number;
}

/**
 * What the commands run for. A timed command is started straight from the benchmark; a
 * peak RSS command under GNU time, whose own start would be in its time (see ExecTimer).
 * So each sample gives one or the other.
 */
export type Pass = 'time' | 'peak RSS';

/** How the bursts are shaped. */
export interface BurstSizes {
  sequential: number;
  parallel: number;
  parallelJobs: number;
}

/** A phase gives up on a runtime after this many failed samples. */
export const MAX_FAILURES = 3;
const EXIT_TIMEOUT_MS = 10_000;
/**
 * A single command's limit. The trial run and the forced deletes get a shorter one, so
 * that a runtime which hangs is skipped, or cleaned up after, without a long wait.
 */
const COMMAND_TIMEOUT_MS = 60_000;
const SHORT_TIMEOUT_MS = 20_000;
const MEMORY_LIMIT = 8 * 1024 * 1024;
const PIDS_LIMIT = 4;

class StepFailure extends Error {
  constructor(
    readonly phase: Phase,
    message: string,
  ) {
    super(message);
  }
}

function emptyResults(): RuntimeResults {
  const phases = {} as Record<Phase, PhaseData>;
  for (const p of PHASES) phases[p] = { wallMs: [], cpuMs: [], rssKiB: [], chargedKiB: [], runWallMs: [], failures: [] };
  return {
    phases,
    created: [],
    cgroupMissing: 0,
    limits: { memory: { tried: 0, started: 0, applied: 0 }, pids: { tried: 0, started: 0, applied: 0 } },
    leftovers: 0,
    maxRssKiB: 0,
  };
}

function tail(text: string): string {
  return text.trim().split('\n').slice(-3).join(' | ');
}

/** A runtime command as people write it: without the CLI's path and the --root every command gets. */
function commandText(argv: string[]): string {
  return argv.slice(3).join(' ');
}

/** The samples of every phase, for every runtime, and the containers still to clean up. */
export class Bench {
  readonly results = new Map<string, RuntimeResults>();
  readonly floorMs: number[] = [];
  readonly floorCpuMs: number[] = [];
  readonly floorRssKiB: number[] = [];
  readonly floorChargedKiB: number[] = [];
  /**
   * runts' sealed exec (create, run and exec re-execute node from a read-only clone):
   * `node seal.cjs --version` against `node main.cjs --version`, wall and CPU ms.
   */
  readonly seal = { sealedMs: [] as number[], sealedCpuMs: [] as number[], plainMs: [] as number[], plainCpuMs: [] as number[] };
  /** Containers that exist, or may, per runtime: what cleanup must delete. */
  private readonly live = new Map<string, Set<string>>();
  /** What the samples taken from now on measure. */
  pass: Pass = 'time';

  constructor(
    private readonly timer: ExecTimer,
    private readonly bundles: Bundles,
    private readonly libc: BenchLibc,
    private readonly cgroupVersion: CgroupVersion,
    private readonly pidDir: string,
    private readonly bursts: BurstSizes,
    /** Told when a phase gives up on a runtime. */
    private readonly say: (line: string) => void,
  ) {}

  resultsFor(rt: Runtime): RuntimeResults {
    let r = this.results.get(rt.name);
    if (!r) {
      r = emptyResults();
      this.results.set(rt.name, r);
      this.live.set(rt.name, new Set());
    }
    return r;
  }

  /** `node -e 0`: the least any Node CLI can take. */
  sampleFloor(): void {
    const { runs } = this.timer.invoke([process.execPath, '-e', '0'], { timeoutMs: COMMAND_TIMEOUT_MS, peakRss: this.peakRss });
    if (!succeeded(runs[0])) return;
    if (this.pass === 'time') {
      this.floorMs.push(runs[0].wallMs);
      this.floorCpuMs.push(runs[0].cpuMs);
    } else {
      this.keepRss(this.floorRssKiB, runs[0]);
      if (runs[0].chargedKiB !== null) this.floorChargedKiB.push(runs[0].chargedKiB);
    }
  }

  /** The cost of runts' sealed exec, from the node and bundle that bin/runts `rt` starts. */
  sampleSeal(rt: Runtime): void {
    if (this.pass !== 'time') return;
    const root = join(rt.path, '..', '..');
    // dist/node: the node on its first line, the V8 flags bin/runts gives it on the second
    let node: string[];
    try {
      const [path, flags = ''] = readFileSync(join(root, 'dist', 'node'), 'utf8').split('\n');
      node = [path, ...flags.split(' ').filter(Boolean)];
    } catch {
      return;
    }
    const time = (script: string, wall: number[], cpu: number[]) => {
      const { runs } = this.timer.invoke([...node, join(root, 'dist', 'bundle', script), '--version'], { timeoutMs: COMMAND_TIMEOUT_MS });
      if (!succeeded(runs[0])) return;
      wall.push(runs[0].wallMs);
      cpu.push(runs[0].cpuMs);
    };
    time('seal.cjs', this.seal.sealedMs, this.seal.sealedCpuMs);
    time('main.cjs', this.seal.plainMs, this.seal.plainCpuMs);
  }

  /** Runs one `run` of the bundle; the reason it failed, or null. */
  probe(rt: Runtime): string | null {
    const id = `${rt.name}-probe`;
    try {
      this.runOnce(rt, id, {}, SHORT_TIMEOUT_MS);
      return null;
    } catch (e) {
      return (e as Error).message;
    } finally {
      this.forget(rt, id);
    }
  }

  /** Forgets every sample taken so far (the warm-up's), keeping track of live containers. */
  resetSamples(): void {
    for (const name of this.results.keys()) this.results.set(name, emptyResults());
    this.floorMs.length = 0;
    this.floorCpuMs.length = 0;
    this.floorRssKiB.length = 0;
    this.floorChargedKiB.length = 0;
    for (const samples of Object.values(this.seal)) samples.length = 0;
  }

  /** Whether the phase still runs for this runtime. */
  active(rt: Runtime, phase: Phase): boolean {
    return this.resultsFor(rt).phases[phase].failures.length < MAX_FAILURES;
  }

  sampleRun(rt: Runtime, tag: string): void {
    const id = `${rt.name}-${tag}-run`;
    this.attempt(rt, [id], () => {
      const run = this.runOnce(rt, id, {});
      this.record(rt, 'run', run);
    });
  }

  /** create, state (of the created container), start, wait for exit, delete. */
  sampleSteps(rt: Runtime, tag: string): void {
    const id = `${rt.name}-${tag}-steps`;
    this.attempt(rt, [id], () => {
      const { create, pidfd } = this.create(rt, id, 'create');
      try {
        this.record(rt, 'create', create);
        const usage = readCreatedUsage(this.cgroupVersion, this.bundles.cgroupsPath(id));
        if (usage) this.resultsFor(rt).created.push(usage);
        else this.resultsFor(rt).cgroupMissing++;
        const state = this.step(rt, 'state', cli(rt, 'state', id));
        this.expectStatus(state.stdout, 'created');
        this.record(rt, 'state', state.run);
        this.record(rt, 'start', this.step(rt, 'start', cli(rt, 'start', id)).run);
        this.waitExit(pidfd, 'start');
      } finally {
        this.libc.close(pidfd);
      }
      this.record(rt, 'delete', this.delete(rt, id, 'delete'));
    });
  }

  /**
   * `kill KILL` of a created container: a started one runs /bin/true, which may be gone
   * before the signal is sent.
   */
  sampleKill(rt: Runtime, tag: string): void {
    const id = `${rt.name}-${tag}-kill`;
    this.attempt(rt, [id], () => {
      const { pidfd } = this.create(rt, id, 'kill');
      try {
        this.record(rt, 'kill', this.step(rt, 'kill', cli(rt, 'kill', id, 'KILL')).run);
        this.waitExit(pidfd, 'kill');
      } finally {
        this.libc.close(pidfd);
      }
      this.delete(rt, id, 'kill');
    });
  }

  /**
   * create → start → wait → delete as an engine does it. The total is the sum of the three
   * commands' times and the wait from `start` returning until the container's process is
   * seen gone, so the benchmark's own work between commands is left out.
   */
  sampleLifecycle(rt: Runtime, tag: string): void {
    const id = `${rt.name}-${tag}-life`;
    this.attempt(rt, [id], () => {
      const { create, pidfd } = this.create(rt, id, 'lifecycle');
      let start: Run;
      let waitMs: number;
      try {
        start = this.step(rt, 'lifecycle', cli(rt, 'start', id)).run;
        const seen = this.waitExit(pidfd, 'lifecycle');
        waitMs = seen > start.endNs ? Number(seen - start.endNs) / 1e6 : 0;
      } finally {
        this.libc.close(pidfd);
      }
      const del = this.delete(rt, id, 'lifecycle');
      const data = this.resultsFor(rt).phases.lifecycle;
      if (this.pass === 'time') {
        data.wallMs.push(create.wallMs + start.wallMs + waitMs + del.wallMs);
        data.cpuMs.push(create.cpuMs + start.cpuMs + del.cpuMs);
      } else for (const run of [create, start, del]) this.keepRss(data.rssKiB, run);
    });
  }

  sampleSequential(rt: Runtime, tag: string): void {
    this.burst(rt, 'sequential', `${rt.name}-${tag}-seq`, this.bursts.sequential, 1);
  }

  sampleParallel(rt: Runtime, tag: string): void {
    this.burst(rt, 'parallel', `${rt.name}-${tag}-par`, this.bursts.parallel, this.bursts.parallelJobs);
  }

  /**
   * Whether containers limited to 8 MiB of memory, and to 4 pids, still start and run; and,
   * since a runtime that ignored the limit would pass that trivially, whether a created
   * container's cgroup really holds the limit.
   */
  checkLimits(rt: Runtime, tries: number): void {
    const checks: [keyof RuntimeResults['limits'], Limits, number][] = [
      ['memory', { memory: { limit: MEMORY_LIMIT } }, MEMORY_LIMIT],
      ['pids', { pids: { limit: PIDS_LIMIT } }, PIDS_LIMIT],
    ];
    for (const [kind, limits, expected] of checks) {
      const check = this.resultsFor(rt).limits[kind];
      for (let i = 0; i < tries; i++) {
        const id = `${rt.name}-limit-${kind}-${i}`;
        check.tried++;
        try {
          this.runOnce(rt, id, limits);
          check.started++;
        } catch (e) {
          check.error ??= (e as Error).message;
        } finally {
          this.forget(rt, id);
        }
        const createdId = `${id}-created`;
        try {
          this.libc.close(this.create(rt, createdId, 'create', limits).pidfd);
          if (readLimit(this.cgroupVersion, kind, this.bundles.cgroupsPath(createdId)) === expected) check.applied++;
        } catch (e) {
          check.error ??= (e as Error).message;
        } finally {
          this.forget(rt, createdId);
        }
      }
    }
  }

  /** Deletes, with --force, every container the runtime may still hold. */
  cleanup(rt: Runtime): void {
    const ids = new Set(this.live.get(rt.name));
    if (existsSync(rt.root)) {
      for (const entry of readdirSync(rt.root)) ids.add(entry);
    }
    for (const id of ids) this.forget(rt, id);
    this.libc.reapExited();
  }

  private burst(rt: Runtime, phase: Phase, prefix: string, count: number, jobs: number): void {
    const ids = Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
    this.attempt(rt, ids, () => {
      for (const id of ids) this.track(rt, id);
      for (const id of ids) this.bundles.create(id);
      const argv = cli(rt, 'run', '--bundle', this.bundles.path(`${prefix}-{}`), `${prefix}-{}`);
      const inv = this.invoke(phase, argv, { count, jobs, timeoutMs: count * COMMAND_TIMEOUT_MS });
      const data = this.resultsFor(rt).phases[phase];
      for (const run of inv.runs) this.noteRss(rt, run);
      const failed = inv.runs.filter((r) => !succeeded(r));
      if (failed.length > 0) {
        throw new StepFailure(phase, `${failed.length} of ${count} runs failed, the first with ${describeOutcome(failed[0].outcome)}: ${tail(inv.stderr)}`);
      }
      if (this.pass === 'time') {
        data.wallMs.push(inv.spanMs);
        data.cpuMs.push(inv.runs.reduce((sum, run) => sum + run.cpuMs, 0));
        for (const run of inv.runs) data.runWallMs.push(run.wallMs);
      } else {
        for (const run of inv.runs) this.keepRss(data.rssKiB, run);
      }
      for (const id of ids) this.settle(rt, id);
    });
  }

  /** `run` to completion; afterwards the container must be gone from the state directory. */
  private runOnce(rt: Runtime, id: string, limits: Limits, timeoutMs = COMMAND_TIMEOUT_MS): Run {
    this.track(rt, id);
    const bundle = this.bundles.create(id, limits);
    const { run } = this.step(rt, 'run', cli(rt, 'run', '--bundle', bundle, id), timeoutMs);
    this.settle(rt, id);
    return run;
  }

  private create(rt: Runtime, id: string, phase: Phase, limits: Limits = {}): { create: Run; pidfd: number } {
    this.track(rt, id);
    const bundle = this.bundles.create(id, limits);
    const pidFile = join(this.pidDir, id);
    const { run } = this.step(rt, phase, cli(rt, 'create', '--bundle', bundle, '--pid-file', pidFile, id));
    let pid = NaN;
    try {
      pid = Number(readFileSync(pidFile, 'utf8').trim());
    } catch {
      // judged below
    }
    rmSync(pidFile, { force: true });
    if (!Number.isInteger(pid) || pid <= 0) throw new StepFailure(phase, 'create wrote no pid to --pid-file');
    return { create: run, pidfd: this.libc.pidfdOpen(pid) };
  }

  private delete(rt: Runtime, id: string, phase: Phase): Run {
    const { run } = this.step(rt, phase, cli(rt, 'delete', id));
    this.settle(rt, id);
    return run;
  }

  private waitExit(pidfd: number, phase: Phase): bigint {
    const seen = this.libc.waitExit(pidfd, EXIT_TIMEOUT_MS);
    if (seen === null) throw new StepFailure(phase, `the container's process did not exit within ${EXIT_TIMEOUT_MS / 1000} s`);
    this.libc.reapExited();
    return seen;
  }

  private expectStatus(stateJson: string, want: string): void {
    let status: unknown;
    try {
      status = (JSON.parse(stateJson) as { status?: unknown }).status;
    } catch {
      throw new StepFailure('state', `state printed no JSON: ${tail(stateJson)}`);
    }
    if (status !== want) throw new StepFailure('state', `state said ${String(status)}, not ${want}`);
  }

  /** One command, which must succeed. */
  private step(rt: Runtime, phase: Phase, argv: string[], timeoutMs = COMMAND_TIMEOUT_MS): { run: Run; stdout: string } {
    const inv = this.invoke(phase, argv, { timeoutMs });
    const run = inv.runs[0];
    this.noteRss(rt, run);
    if (!succeeded(run)) {
      throw new StepFailure(phase, `${commandText(argv)}: ${describeOutcome(run.outcome)}: ${tail(inv.stderr)}`);
    }
    return { run, stdout: inv.stdout };
  }

  /** A hung command (the timer throws on time-out) counts against the phase, like any other failure. */
  private invoke(phase: Phase, argv: string[], options: InvokeOptions): Invocation {
    try {
      return this.timer.invoke(argv, { ...options, peakRss: this.peakRss });
    } catch (e) {
      throw new StepFailure(phase, `${commandText(argv)}: ${(e as Error).message}`);
    }
  }

  private record(rt: Runtime, phase: Phase, run: Run): void {
    const data = this.resultsFor(rt).phases[phase];
    if (this.pass === 'time') {
      data.wallMs.push(run.wallMs);
      data.cpuMs.push(run.cpuMs);
    } else {
      this.keepRss(data.rssKiB, run, data.chargedKiB);
    }
  }

  private get peakRss(): boolean {
    return this.pass === 'peak RSS';
  }

  /** A run's peak RSS, which only the peak RSS pass has. */
  private keepRss(into: number[], run: Run, charged?: number[]): void {
    if (run.maxRssKiB !== null) into.push(run.maxRssKiB);
    if (charged && run.chargedKiB !== null) charged.push(run.chargedKiB);
  }

  private noteRss(rt: Runtime, run: Run): void {
    const r = this.resultsFor(rt);
    if (run.maxRssKiB !== null) r.maxRssKiB = Math.max(r.maxRssKiB, run.maxRssKiB);
  }

  /**
   * Runs one sample; a failure is recorded against the phase that failed, the sample's
   * containers are force-deleted, and the benchmark goes on.
   */
  private attempt(rt: Runtime, ids: string[], sample: () => void): void {
    try {
      sample();
    } catch (e) {
      if (!(e instanceof StepFailure)) throw e;
      const failures = this.resultsFor(rt).phases[e.phase].failures;
      failures.push(e.message);
      if (failures.length === MAX_FAILURES) {
        this.say(`${rt.name}: ${e.phase} failed ${MAX_FAILURES} times, no more samples of it; last: ${e.message}`);
      }
      for (const id of ids) this.forget(rt, id);
    } finally {
      this.libc.reapExited();
    }
  }

  private track(rt: Runtime, id: string): void {
    this.resultsFor(rt);
    this.live.get(rt.name)?.add(id);
  }

  /** After a container should be gone: if the runtime still lists it, force it out and count it. */
  private settle(rt: Runtime, id: string): void {
    if (existsSync(join(rt.root, id))) {
      this.resultsFor(rt).leftovers++;
      this.forget(rt, id);
      return;
    }
    this.live.get(rt.name)?.delete(id);
    this.bundles.remove(id);
  }

  /**
   * `delete --force`, whatever state the container is in, ignoring the outcome, for a
   * container that may exist: one whose sample failed, or one the state directory lists.
   */
  private forget(rt: Runtime, id: string): void {
    if (this.live.get(rt.name)?.has(id) || existsSync(join(rt.root, id))) {
      try {
        const inv = this.timer.invoke(cli(rt, 'delete', '--force', id), { timeoutMs: SHORT_TIMEOUT_MS, peakRss: this.peakRss });
        this.noteRss(rt, inv.runs[0]);
      } catch {
        // nothing more to do here: the cgroup sweep at the end kills what is left
      }
    }
    this.live.get(rt.name)?.delete(id);
    this.bundles.remove(id);
  }
}
