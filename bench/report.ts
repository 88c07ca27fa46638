import type { Machine } from './machine.js';
import { PHASES, type BurstSizes, type LimitCheck, type Phase, type RuntimeResults } from './phases.js';
import type { Runtime } from './runtimes.js';
import { summarize, type Summary } from './stats.js';

/** Everything a run of the benchmark found, as written to the JSON file. */
export interface Report {
  date: string;
  machine: Machine;
  settings: {
    samples: number;
    burstRounds: number;
    /** Rounds of single commands under GNU time for their peak RSS, then one of bursts. */
    peakRssRounds: number;
    bursts: BurstSizes;
    limitTries: number;
    cgroups: string;
    /** Whether NODE_EXTRA_CA_CERTS was set where the benchmark started; it is unset for every measured command. */
    nodeExtraCaCertsSet: boolean;
    /** 1, 5 and 15 minute load averages before and after the timed rounds. */
    loadAverage: { before: number[]; after: number[] };
  };
  floor: { wallMs: Summary | null; cpuMs: Summary | null; rssKiB: Summary | null; chargedKiB: Summary | null; samplesMs: number[] };
  /** runts' sealed exec: `seal.cjs --version` against `main.cjs --version`. */
  seal: { sealed: Summary | null; sealedCpu: Summary | null; plain: Summary | null; plainCpu: Summary | null };
  skipped: { name: string; reason: string }[];
  runtimes: RuntimeReport[];
  targets: Target[];
}

export interface PhaseReport {
  wallMs: Summary | null;
  /** User + system CPU of the same samples. */
  cpuMs: Summary | null;
  /** This runtime's median over runc's, when runc was measured. */
  ratioToRunc: number | null;
  rssKiB: Summary | null;
  /** Peak memory charged to the command (bench/cgroups.ts, ChargeProbe): its unshared part. */
  chargedKiB: Summary | null;
  /** The bursts' single runs. */
  runWallMs: Summary | null;
  samplesMs: number[];
  failures: string[];
}

export interface RuntimeReport {
  name: string;
  path: string;
  version: string;
  phases: Record<Phase, PhaseReport>;
  created: {
    samples: number;
    missing: number;
    memoryBytes: Summary | null;
    tasks: Summary | null;
    processes: Summary | null;
    rssKiB: Summary | null;
    peakRssKiB: Summary | null;
    names: string[];
  };
  limits: RuntimeResults['limits'];
  leftovers: number;
  maxRssKiB: number;
}

export interface Target {
  what: string;
  goal: string;
  value: string;
  /** null when it cannot be judged, e.g. runc was not measured. */
  met: boolean | null;
}

export interface ReportInput {
  machine: Machine;
  settings: Report['settings'];
  floorMs: number[];
  floorCpuMs: number[];
  floorRssKiB: number[];
  floorChargedKiB: number[];
  seal: { sealedMs: number[]; sealedCpuMs: number[]; plainMs: number[]; plainCpuMs: number[] };
  skipped: Report['skipped'];
  runtimes: Runtime[];
  results: Map<string, RuntimeResults>;
}

export function buildReport(input: ReportInput): Report {
  const runcResults = input.results.get('runc');
  const runtimes = input.runtimes.map((rt): RuntimeReport => {
    const r = input.results.get(rt.name);
    if (!r) throw new Error(`no results for ${rt.name}`);
    const phases = {} as Record<Phase, PhaseReport>;
    for (const p of PHASES) {
      const data = r.phases[p];
      const wall = summarize(data.wallMs);
      const runcWall = runcResults ? summarize(runcResults.phases[p].wallMs) : null;
      phases[p] = {
        wallMs: wall,
        cpuMs: summarize(data.cpuMs),
        ratioToRunc: wall && runcWall ? wall.median / runcWall.median : null,
        rssKiB: summarize(data.rssKiB),
        chargedKiB: summarize(data.chargedKiB),
        runWallMs: summarize(data.runWallMs),
        samplesMs: data.wallMs,
        failures: data.failures,
      };
    }
    const procs = r.created.flatMap((u) => u.processes);
    return {
      name: rt.name,
      path: rt.path,
      version: rt.version,
      phases,
      created: {
        samples: r.created.length,
        missing: r.cgroupMissing,
        memoryBytes: summarize(r.created.map((u) => u.memoryBytes)),
        tasks: summarize(r.created.map((u) => u.tasks)),
        processes: summarize(r.created.map((u) => u.processes.length)),
        rssKiB: summarize(r.created.map((u) => u.processes.reduce((sum, p) => sum + p.rssKiB, 0))),
        peakRssKiB: summarize(procs.map((p) => p.peakRssKiB)),
        names: [...new Set(procs.map((p) => p.name))],
      },
      limits: r.limits,
      leftovers: r.leftovers,
      maxRssKiB: r.maxRssKiB,
    };
  });
  const floor = summarize(input.floorMs);
  const report: Report = {
    date: new Date().toISOString(),
    machine: input.machine,
    settings: input.settings,
    floor: { wallMs: floor, cpuMs: summarize(input.floorCpuMs), rssKiB: summarize(input.floorRssKiB), chargedKiB: summarize(input.floorChargedKiB), samplesMs: input.floorMs },
    seal: {
      sealed: summarize(input.seal.sealedMs),
      sealedCpu: summarize(input.seal.sealedCpuMs),
      plain: summarize(input.seal.plainMs),
      plainCpu: summarize(input.seal.plainCpuMs),
    },
    skipped: input.skipped,
    runtimes,
    targets: [],
  };
  const runts = runtimes.find((r) => r.name === 'runts');
  const runc = runtimes.find((r) => r.name === 'runc');
  if (runts) report.targets = targets(runts, runc, report.floor.cpuMs);
  return report;
}

const FLOOR_MARGIN_MS = 10;
const RUN_RATIO = 2;
const LIFECYCLE_RATIO = 2.5;
const RSS_LIMIT_KIB = 48 * 1024;

/** The goals runts is held to (issue 14). */
function targets(runts: RuntimeReport, runc: RuntimeReport | undefined, floorCpu: Summary | null): Target[] {
  const out: Target[] = [];
  for (const p of ['state', 'start', 'kill', 'delete'] as const) {
    const cpu = runts.phases[p].cpuMs;
    const goal = floorCpu ? floorCpu.median + FLOOR_MARGIN_MS : null;
    out.push({
      what: `${p}: CPU within ${FLOOR_MARGIN_MS} ms of node -e 0's`,
      goal: goal === null ? 'no floor measured' : `<= ${ms(goal)} ms`,
      value: cpu ? `${ms(cpu.median)} ms (+${ms(cpu.median - (floorCpu?.median ?? 0))})` : 'not measured',
      met: cpu && goal !== null ? cpu.median <= goal : null,
    });
  }
  const ratioTarget = (phase: Phase, what: string, ratio: number): Target => {
    const wall = runts.phases[phase].wallMs;
    const base = runc?.phases[phase].wallMs ?? null;
    return {
      what: `${what} within ${ratio}x of runc`,
      goal: base ? `<= ${ms(base.median * ratio)} ms` : 'runc not measured',
      value: wall ? `${ms(wall.median)} ms${ratioText(runts.phases[phase].ratioToRunc)}` : 'not measured',
      met: wall && base ? wall.median <= base.median * ratio : null,
    };
  };
  out.push(ratioTarget('run', 'run of /bin/true', RUN_RATIO));
  out.push(ratioTarget('lifecycle', 'create->start->wait->delete', LIFECYCLE_RATIO));
  // the bursts are runs of /bin/true: held to run's ratio
  out.push(ratioTarget('sequential', 'runs in sequence', RUN_RATIO));
  out.push(ratioTarget('parallel', 'runs two at a time', RUN_RATIO));
  // The CLI invocations' peaks come from GNU time's wait4(), which covers every process a
  // command waited for; a process left in the container while `created` is read from /proc.
  const peak = Math.max(runts.maxRssKiB, runts.created.peakRssKiB?.max ?? 0);
  out.push({
    what: `peak RSS of any runts process under ${mib(RSS_LIMIT_KIB)} MiB`,
    goal: `< ${mib(RSS_LIMIT_KIB)} MiB`,
    value: `${mib(peak)} MiB`,
    met: peak > 0 ? peak < RSS_LIMIT_KIB : null,
  });
  return out;
}

function ms(x: number): string {
  return x >= 100 ? x.toFixed(0) : x.toFixed(1);
}

function mib(kib: number): string {
  return (kib / 1024).toFixed(1);
}

function ratioText(r: number | null): string {
  return r === null ? '' : ` (${r.toFixed(2)}x)`;
}

function phaseLabel(p: Phase, bursts: BurstSizes): string {
  if (p === 'lifecycle') return 'create->start->wait->delete';
  if (p === 'sequential') return `${bursts.sequential} runs in sequence, total`;
  if (p === 'parallel') return `${bursts.parallel} runs, ${bursts.parallelJobs} at a time, total`;
  return p;
}

/** Lays rows out in columns: the first left-aligned, the rest right-aligned. */
function columns(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows
    .map((row) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('   ').trimEnd())
    .join('\n');
}

function wallCell(s: Summary | null, ratio: number | null, failures: number): string {
  if (!s) return failures > 0 ? 'failed' : '-';
  const mark = failures > 0 ? ` (${failures} failed)` : '';
  return `${ms(s.median)} [${ms(s.min)}-${ms(s.max)}]${ratio === null ? '' : ` ${ratio.toFixed(2)}x`}${mark}`;
}

/** The plain-text table: what is printed, written beside the JSON, and pasted into the docs. */
export function renderTable(report: Report): string {
  const { machine, settings, runtimes } = report;
  const names = runtimes.map((r) => r.name);
  const lines: string[] = [];
  lines.push(`runts benchmark, ${report.date.slice(0, 16).replace('T', ' ')} UTC`);
  lines.push(
    `machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB; ${machine.os}; Linux ${machine.kernel}; node ${machine.node}`,
  );
  lines.push(`runtimes: ${runtimes.map((r) => `${r.name} (${r.version})`).join(', ')}`);
  for (const s of report.skipped) lines.push(`skipped: ${s.name}: ${s.reason}`);
  lines.push(`cgroups: ${settings.cgroups}`);
  lines.push(
    `rounds: ${settings.samples} of single commands, ${settings.burstRounds} of bursts, runtimes interleaved round by round; ` +
      `for peak RSS, ${settings.peakRssRounds} of single commands and 1 of bursts`,
  );
  lines.push(
    `NODE_EXTRA_CA_CERTS ${settings.nodeExtraCaCertsSet ? 'was set in the environment, and' : 'was not set;'} unset for every measured command`,
  );
  const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ');
  lines.push(`load average (1, 5, 15 min): ${load(settings.loadAverage.before)} before the timed rounds, ${load(settings.loadAverage.after)} after`);
  const f = report.floor.wallMs;
  const fc = report.floor.cpuMs;
  const fr = report.floor.rssKiB;
  lines.push(
    `floor: node -e 0 ${f ? `${ms(f.median)} ms [${ms(f.min)}-${ms(f.max)}]` : 'not measured'}` +
      `${fc ? `, CPU ${ms(fc.median)} ms` : ''}${fr ? `, peak RSS ${mib(fr.median)} MiB` : ''}`,
  );
  const { sealed, sealedCpu, plain, plainCpu } = report.seal;
  if (sealed && plain && sealedCpu && plainCpu) {
    lines.push(
      `sealed exec (create, run, exec start node again from a read-only clone): +${ms(sealed.median - plain.median)} ms wall, ` +
        `+${ms(sealedCpu.median - plainCpu.median)} ms CPU (runts --version through seal.cjs ${ms(sealed.median)} ms, without ${ms(plain.median)} ms)`,
    );
  }

  lines.push('', 'Wall time | user+sys CPU, ms: median [min-max] of wall, the median over runc\'s, | median CPU');
  const wallRows: string[][] = [['', ...names]];
  for (const p of PHASES) {
    wallRows.push([
      phaseLabel(p, settings.bursts),
      ...runtimes.map((r) => `${wallCell(r.phases[p].wallMs, r.phases[p].ratioToRunc, r.phases[p].failures.length)} | ${r.phases[p].cpuMs ? ms(r.phases[p].cpuMs!.median) : '-'}`),
    ]);
    if (p === 'sequential' || p === 'parallel') {
      wallRows.push(['  each run', ...runtimes.map((r) => wallCell(r.phases[p].runWallMs, null, 0))]);
    }
  }
  lines.push(columns(wallRows));

  lines.push('', 'Peak RSS of each command (ru_maxrss, under GNU time), MiB: median [max]');
  const rssRows: string[][] = [['', ...names]];
  for (const p of ['run', 'create', 'state', 'start', 'kill', 'delete'] as const) {
    rssRows.push([p, ...runtimes.map((r) => rssCell(r.phases[p].rssKiB))]);
  }
  rssRows.push(['any command', ...runtimes.map((r) => (r.maxRssKiB > 0 ? mib(r.maxRssKiB) : '-'))]);
  lines.push(columns(rssRows));

  const fch = report.floor.chargedKiB;
  lines.push(
    '',
    'Of which not shared: peak memory charged to the command and what it forked (anonymous, page cache it',
    `brought in, kernel; a v1 memory cgroup, under GNU time), MiB: median [max]; node -e 0: ${fch ? mib(fch.median) : '-'}`,
  );
  const chargedRows: string[][] = [['', ...names]];
  for (const p of ['run', 'create', 'state', 'start', 'kill', 'delete'] as const) {
    chargedRows.push([p, ...runtimes.map((r) => rssCell(r.phases[p].chargedKiB))]);
  }
  lines.push(columns(chargedRows));

  lines.push('', 'Charged to the container\'s cgroup while it is created: median [max]');
  const createdRows: string[][] = [['', ...names]];
  createdRows.push(['memory, MiB', ...runtimes.map((r) => summaryCell(r.created.memoryBytes, (x) => (x / 2 ** 20).toFixed(2)))]);
  createdRows.push(['tasks (pids.current)', ...runtimes.map((r) => summaryCell(r.created.tasks, String))]);
  createdRows.push(['processes', ...runtimes.map((r) => summaryCell(r.created.processes, String))]);
  createdRows.push(['their RSS, MiB', ...runtimes.map((r) => summaryCell(r.created.rssKiB, mib))]);
  createdRows.push(['their peak RSS, MiB', ...runtimes.map((r) => summaryCell(r.created.peakRssKiB, mib))]);
  createdRows.push(['processes named', ...runtimes.map((r) => r.created.names.join(' ') || '-')]);
  lines.push(columns(createdRows));

  lines.push('', 'Limits: run of /bin/true exits 0; the created container\'s cgroup holds the limit');
  const limitRows: string[][] = [['', ...names]];
  const limitCell = (c: LimitCheck): string => `ran ${c.started}/${c.tried}, applied ${c.applied}/${c.tried}`;
  limitRows.push(['memory limit 8 MiB', ...runtimes.map((r) => limitCell(r.limits.memory))]);
  limitRows.push(['pids limit 4', ...runtimes.map((r) => limitCell(r.limits.pids))]);
  lines.push(columns(limitRows));

  if (report.targets.length > 0) {
    lines.push('', 'Targets for runts');
    const verdict = (t: Target): string => (t.met === null ? 'not judged' : t.met ? 'met' : 'MISSED');
    lines.push(columns(report.targets.map((t) => [t.what, t.value, t.goal, verdict(t)])));
  } else if (report.skipped.some((s) => s.name === 'runts')) {
    lines.push('', 'Targets for runts: not judged, runts was skipped');
  }

  const notes: string[] = [];
  for (const r of runtimes) {
    for (const p of PHASES) {
      const fails = r.phases[p].failures;
      if (fails.length > 0) notes.push(`${r.name} ${p}: ${fails.length} failed; first: ${fails[0]}`);
    }
    for (const kind of ['memory', 'pids'] as const) {
      const e = r.limits[kind].error;
      if (e) notes.push(`${r.name} ${kind} limit: ${e}`);
    }
    if (r.created.missing > 0) {
      notes.push(`${r.name}: no cgroup at the cgroupsPath asked for, in ${r.created.missing} of ${r.created.missing + r.created.samples} samples`);
    }
    if (r.leftovers > 0) notes.push(`${r.name}: ${r.leftovers} containers left in the state directory, deleted with --force`);
  }
  if (notes.length > 0) lines.push('', 'Notes', ...notes.map((n) => `- ${n}`));
  return lines.join('\n') + '\n';
}

function rssCell(s: Summary | null): string {
  return s ? `${mib(s.median)} [${mib(s.max)}]` : '-';
}

function summaryCell(s: Summary | null, fmt: (x: number) => string): string {
  return s ? `${fmt(s.median)} [${fmt(s.max)}]` : '-';
}
