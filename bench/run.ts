/**
 * `npm run bench`: runts against runc and crun on the same bundle and machine. See
 * docs/benchmarks.md for what is measured and how to read the result.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { constants, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseOptions, USAGE, UsageError, type Options } from './args.js';
import { Bundles, buildRootfs } from './bundle.js';
import { ChargeProbe, cgroupVersion, removeCgroupTree } from './cgroups.js';
import { benchLibc } from './libc.js';
import { describeMachine } from './machine.js';
import { hideCgroup2, insideNamespace, measuredEnv, reexecInNamespace } from './namespace.js';
import { Bench, type Phase } from './phases.js';
import { buildReport, renderTable } from './report.js';
import { INSTALL_HINTS, locateRuntime, parseRuntimeList, runtimeVersion, type Runtime } from './runtimes.js';
import { ExecTimer } from './timer.js';

// dist/bench/run.js → the checkout's root, where bin/, bench/ and bundles/ are.
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

const say = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

class Interrupted extends Error {}

type StopSignal = 'SIGINT' | 'SIGTERM' | 'SIGHUP';
let interruptedBy: StopSignal | null = null;

/**
 * Lets a pending signal handler run, then stops if one did. The runtimes run in a session
 * of their own, so a Ctrl-C lands here between two commands, never inside one.
 */
async function checkpoint(): Promise<void> {
  await new Promise((r) => setImmediate(r));
  if (interruptedBy) throw new Interrupted(interruptedBy);
}

/** The runtimes in a different order each round, so that none always goes first. */
function rotate<T>(xs: T[], by: number): T[] {
  const k = by % xs.length;
  return [...xs.slice(k), ...xs.slice(0, k)];
}

interface Sampler {
  phases: Phase[];
  sample: (bench: Bench, rt: Runtime, tag: string) => void;
}

const SINGLES: Sampler[] = [
  { phases: ['run'], sample: (b, rt, tag) => b.sampleRun(rt, tag) },
  { phases: ['create', 'state', 'start', 'delete'], sample: (b, rt, tag) => b.sampleSteps(rt, tag) },
  { phases: ['kill'], sample: (b, rt, tag) => b.sampleKill(rt, tag) },
  { phases: ['lifecycle'], sample: (b, rt, tag) => b.sampleLifecycle(rt, tag) },
];

const BURSTS: Sampler[] = [
  { phases: ['sequential'], sample: (b, rt, tag) => b.sampleSequential(rt, tag) },
  { phases: ['parallel'], sample: (b, rt, tag) => b.sampleParallel(rt, tag) },
];

/** One round: each sampler once for every runtime, in this round's order. */
async function round(bench: Bench, samplers: Sampler[], runtimes: Runtime[], index: number, tag: string): Promise<void> {
  for (const s of samplers) {
    for (const rt of rotate(runtimes, index)) {
      if (s.phases.every((p) => bench.active(rt, p))) s.sample(bench, rt, tag);
      await checkpoint();
    }
  }
}

async function measure(options: Options): Promise<number> {
  // Beside runtimes' default state directories (/run/runc, /run/crun), where they expect to be.
  const base = existsSync('/run') ? '/run' : tmpdir();
  const work = mkdtempSync(join(base, 'runts-bench-'));
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      if (!interruptedBy) say(`bench: ${sig}: stopping after the current command, then cleaning up`);
      interruptedBy = sig;
    });
  }
  const libc = benchLibc();
  const cgroupParent = `runts-bench-${process.pid}`;
  const probed: Runtime[] = [];
  let bench: Bench | undefined;
  const started = Date.now();
  try {
    const cgroups = hideCgroup2(work);
    libc.becomeSubreaper();
    const env = measuredEnv();
    const timer = new ExecTimer(work, env, ChargeProbe.open(cgroupVersion(), `${cgroupParent}/charge`));
    const rootfs = join(work, 'rootfs');
    buildRootfs(join(repoRoot, 'bundles', 'busybox', 'build-rootfs.sh'), rootfs);
    const pidDir = join(work, 'pids');
    mkdirSync(pidDir);
    const bundles = new Bundles(join(work, 'bundles'), rootfs, cgroupParent);
    bench = new Bench(timer, bundles, libc, cgroupVersion(), pidDir, options.bursts, say);

    const runtimes: Runtime[] = [];
    const skipped: { name: string; reason: string }[] = [];
    const skip = (name: string, reason: string): void => {
      skipped.push({ name, reason });
      say(`bench: skipping ${name}: ${reason}`);
    };
    for (const { name, path } of parseRuntimeList(options.runtimes)) {
      if (runtimes.some((r) => r.name === name) || skipped.some((s) => s.name === name)) continue;
      const found = locateRuntime(name, path, repoRoot);
      if (!found) {
        skip(name, `${path ?? name} not found${INSTALL_HINTS[name] ? `; ${INSTALL_HINTS[name]}` : ''}`);
        continue;
      }
      const rt: Runtime = { name, path: found, root: join(work, 'state', name), version: runtimeVersion(found, env) };
      probed.push(rt);
      const failure = bench.probe(rt);
      if (failure) skip(name, `a trial \`${name} run\` of the bundle failed: ${failure}`);
      else runtimes.push(rt);
      await checkpoint();
    }
    if (runtimes.length === 0) {
      say('bench: no runtime to measure');
      return 1;
    }
    say(`bench: measuring ${runtimes.map((r) => r.name).join(', ')}; cgroups ${cgroups}; work directory ${work}`);

    say('bench: warm-up round');
    bench.sampleFloor();
    await round(bench, SINGLES, runtimes, 0, 'w');
    bench.resetSamples();

    const loadBefore = loadavg();
    const runts = runtimes.find((r) => r.name === 'runts');
    for (let i = 0; i < options.samples; i++) {
      say(`bench: round ${i + 1}/${options.samples} (${Math.round((Date.now() - started) / 1000)} s)`);
      bench.sampleFloor();
      if (runts) bench.sampleSeal(runts);
      await round(bench, SINGLES, runtimes, i, `r${i}`);
    }
    for (let i = 0; i < options.burstRounds; i++) {
      say(`bench: burst round ${i + 1}/${options.burstRounds} (${Math.round((Date.now() - started) / 1000)} s)`);
      await round(bench, BURSTS, runtimes, i, `b${i}`);
    }

    const loadAfter = loadavg();
    // Every command from here on runs under GNU time: the limit checks, whose time is not
    // kept, then rounds for the peak RSS of the commands timed above.
    bench.pass = 'peak RSS';
    say('bench: limit checks');
    for (const rt of runtimes) {
      bench.checkLimits(rt, options.limitTries);
      await checkpoint();
    }
    for (let i = 0; i < options.peakRssRounds; i++) {
      say(`bench: peak RSS round ${i + 1}/${options.peakRssRounds} (${Math.round((Date.now() - started) / 1000)} s)`);
      bench.sampleFloor();
      await round(bench, SINGLES, runtimes, i, `m${i}`);
    }
    say(`bench: peak RSS burst round (${Math.round((Date.now() - started) / 1000)} s)`);
    await round(bench, BURSTS, runtimes, 0, 'mb');

    const report = buildReport({
      machine: describeMachine(),
      settings: {
        samples: options.samples,
        burstRounds: options.burstRounds,
        peakRssRounds: options.peakRssRounds,
        bursts: options.bursts,
        limitTries: options.limitTries,
        cgroups,
        nodeExtraCaCertsSet: process.env.NODE_EXTRA_CA_CERTS !== undefined,
        loadAverage: { before: loadBefore, after: loadAfter },
      },
      floorMs: bench.floorMs,
      floorCpuMs: bench.floorCpuMs,
      seal: bench.seal,
      floorRssKiB: bench.floorRssKiB,
      floorChargedKiB: bench.floorChargedKiB,
      skipped,
      runtimes,
      results: bench.results,
    });
    const table = renderTable(report);
    const out = options.out ? resolve(options.out) : join(repoRoot, 'bench', 'results', 'latest.json');
    const tableOut = out.endsWith('.json') ? `${out.slice(0, -'.json'.length)}.txt` : `${out}.txt`;
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
    writeFileSync(tableOut, table);
    process.stdout.write(table);
    say(`bench: done in ${Math.round((Date.now() - started) / 1000)} s; wrote ${out} and ${tableOut}`);
    return 0;
  } catch (e) {
    if (e instanceof Interrupted && interruptedBy) {
      say('bench: interrupted; no result written');
      return 128 + constants.signals[interruptedBy];
    }
    throw e;
  } finally {
    if (bench) for (const rt of probed) bench.cleanup(rt);
    const left = removeCgroupTree(cgroupParent, () => libc.reapExited());
    if (left.length > 0) say(`bench: could not remove these cgroups: ${left.join(' ')}`);
    rmSync(work, { recursive: true, force: true });
  }
}

async function main(): Promise<number> {
  let options: Options | null;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    say(`bench: ${e.message}\n${USAGE}`);
    return 2;
  }
  if (!options) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (process.getuid?.() !== 0) {
    say('bench: must run as root: the runtimes create namespaces and cgroups');
    return 1;
  }
  if (!insideNamespace()) return reexecInNamespace();
  return measure(options);
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    say(`bench: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  },
);
