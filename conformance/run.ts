/**
 * The runtime-spec conformance suite's runner:
 *   node dist/conformance/run.js [--runtime PATH] [--filter GLOB]... [--expected FILE]
 *        [--write-expected FILE] [--hide-cgroup2] [--race-rounds N] [--list] [--verbose]
 * It drives the runtime only through its command line, builds its own bundles in a temp
 * directory, runs each case with a time limit, cleans up after each, and prints TAP with
 * a closing "N passed, N failed, N skipped" line.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { allCases } from './cases/index.js';
import { candidateDirs, removeTree } from './lib/cgroups.js';
import { CaseAborted, CaseContext, SkipCase, StopCase, type Case, type Suite } from './lib/context.js';
import { readHostFacts, readMountInfo } from './lib/host.js';
import { runCommand } from './lib/proc.js';
import { Runtime } from './lib/runtime.js';
import { Tap } from './lib/tap.js';

type Status = 'pass' | 'fail' | 'skip';

interface ExpectedFile {
  runtime: string;
  cases: Record<string, Status>;
}

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const HIDDEN_ENV = 'RUNTS_CONFORMANCE_CGROUP2_HIDDEN';
const CONTROLLERS_FILE = '/sys/fs/cgroup/unified/cgroup.controllers';
const DEFAULT_CASE_TIMEOUT_MS = 60_000;
const CLEANUP_TIMEOUT_MS = 60_000;
const DEFAULT_RACE_ROUNDS = 50;

const usage = `usage: npm run conformance -- [options]
  --runtime PATH         runtime to test (default: ${join(repoRoot, 'bin/runts')})
  --filter GLOB          run only cases whose name matches (repeatable; * and ?)
  --expected FILE        compare results with a recorded expected-results file;
                         exit 1 on any difference (regression or unrecorded pass)
  --write-expected FILE  record this run's results in FILE (merged when filtered)
  --hide-cgroup2         run inside a private mount namespace where the hybrid host's
                         cgroup2 controllers file is hidden (for runtimes that refuse
                         hybrid hosts, such as crun 1.8)
  --race-rounds N        creates under a race in security_masked_paths_race
                         (default ${DEFAULT_RACE_ROUNDS})
  --list                 print the case names and exit
  --verbose              print the requirement of passing assertions too`;

function main(): Promise<number> | number {
  const { values } = parseArgs({
    options: {
      runtime: { type: 'string' },
      filter: { type: 'string', multiple: true },
      expected: { type: 'string' },
      'write-expected': { type: 'string' },
      'hide-cgroup2': { type: 'boolean', default: false },
      'race-rounds': { type: 'string', default: String(DEFAULT_RACE_ROUNDS) },
      list: { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  const selected = select(allCases, values.filter ?? []);
  if (values.list) {
    for (const c of selected) process.stdout.write(`${c.name}\t${c.description}\n`);
    return 0;
  }
  const raceRounds = Number(values['race-rounds']);
  if (!Number.isInteger(raceRounds) || raceRounds < 1) {
    process.stderr.write(`conformance: --race-rounds: not a positive integer: ${values['race-rounds']}\n`);
    return 2;
  }
  if (values['hide-cgroup2'] && process.env[HIDDEN_ENV] !== '1') return reexecHidden();
  if (process.getuid?.() !== 0) {
    process.stderr.write('conformance: must run as root (containers, mounts and cgroups)\n');
    return 2;
  }
  const runtimePath = resolve(values.runtime ?? join(repoRoot, 'bin/runts'));
  return runSuite(selected, runtimePath, {
    expected: values.expected,
    writeExpected: values['write-expected'],
    verbose: values.verbose ?? false,
    raceRounds,
  });
}

function globToRegExp(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

/** A filter matches a case by its whole name, or by its area (the part before "/"). */
function select(cases: Case[], filters: string[]): Case[] {
  if (filters.length === 0) return cases;
  const res = filters.flatMap((f) => f.split(',')).map(globToRegExp);
  return cases.filter((c) => res.some((re) => re.test(c.name) || re.test(c.name.split('/')[0])));
}

/**
 * Runs this same command again inside a private mount namespace in which an empty file
 * covers the cgroup2 mount's controller list, so the runtime sees a pure cgroup v1 host.
 * The suite itself runs there too: hooks, mounts and cgroups are then seen in the same
 * namespace the runtime uses. The host's mounts are never touched.
 */
function reexecHidden(): number {
  if (!existsSync(CONTROLLERS_FILE)) {
    process.stderr.write(`conformance: --hide-cgroup2: ${CONTROLLERS_FILE} does not exist (not a hybrid host)\n`);
    return 2;
  }
  const dir = mkdtempSync(join(tmpdir(), 'runts-conformance-hide-'));
  const empty = join(dir, 'empty');
  writeFileSync(empty, '');
  try {
    const r = spawnSync(
      'unshare',
      [
        '--mount',
        '--propagation',
        'private',
        '--',
        '/bin/sh',
        '-c',
        'mount --bind "$0" "$1" && shift && exec "$@"',
        empty,
        CONTROLLERS_FILE,
        process.execPath,
        ...process.argv.slice(1),
      ],
      { stdio: 'inherit', env: { ...process.env, [HIDDEN_ENV]: '1' } },
    );
    return r.status ?? 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface RunOptions {
  expected?: string;
  writeExpected?: string;
  verbose: boolean;
  raceRounds: number;
}

async function runSuite(cases: Case[], runtimePath: string, opts: RunOptions): Promise<number> {
  const tap = new Tap(opts.verbose);
  const runId = `${process.pid.toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const runDir = mkdtempSync(join(tmpdir(), 'runts-conformance-'));
  // Container processes in user namespaces run as unprivileged host ids; they must be
  // able to reach their bundle.
  chmodSync(runDir, 0o755);
  const suite: Suite = {
    host: readHostFacts(),
    runtime: new Runtime(runtimePath, join(runDir, 'state'), runDir),
    runDir,
    rootfsTemplate: join(runDir, 'rootfs'),
    cgroupParent: `runts-conformance-${runId}`,
    runId,
    raceRounds: opts.raceRounds,
  };
  let current: CaseContext | undefined;
  let interrupted = false;
  const onSignal = () => {
    interrupted = true;
    if (current) current.aborted = true;
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const results = new Map<string, Status>();
  const expected = opts.expected ? loadExpected(opts.expected) : undefined;
  try {
    tap.header();
    tap.comment(`runtime: ${runtimePath} (${await suite.runtime.version()})`);
    tap.comment(describeHost(suite));
    const build = await runCommand('sh', [join(repoRoot, 'bundles/busybox/build-rootfs.sh'), suite.rootfsTemplate], {
      timeoutMs: 120_000,
      scratch: runDir,
    });
    if (!build.ok) {
      tap.line(`Bail out! cannot build the busybox rootfs: ${build.stderr.trim()}`);
      return 2;
    }

    for (const [i, c] of cases.entries()) {
      if (interrupted) break;
      const t = new CaseContext(suite, c.name, i + 1);
      current = t;
      const began = Date.now();
      const { status, reason } = await runCase(c, t);
      const notes = [...t.notes, ...(await withTimeout(t.cleanup(), CLEANUP_TIMEOUT_MS, ['cleanup timed out']))];
      current = undefined;
      if (reason) notes.unshift(reason);
      results.set(c.name, status);
      const known = expected?.cases[c.name] === 'fail' && status === 'fail';
      const directive =
        status === 'skip' ? `SKIP ${reason}` : known ? `TODO known failure, recorded in ${opts.expected}` : undefined;
      const seconds = (Date.now() - began) / 1000;
      tap.point(c.name, status, t.assertions, status === 'skip' ? notes.slice(1) : notes, directive, seconds);
    }
    tap.plan();
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    for (const note of finalSweep(suite)) tap.comment(note);
  }

  const count = (s: Status) => [...results.values()].filter((x) => x === s).length;
  const knownFailures = expected
    ? [...results].filter(([name, s]) => s === 'fail' && expected.cases[name] === 'fail').length
    : 0;
  let exit = count('fail') - knownFailures > 0 || interrupted ? 1 : 0;
  if (expected && opts.expected) {
    const mismatches = compare(results, expected);
    tap.comment(`${knownFailures} known failures (todo), recorded in ${opts.expected}`);
    for (const m of mismatches) tap.comment(`expected-results mismatch: ${m}`);
    if (mismatches.length > 0) {
      tap.comment(
        `${mismatches.length} results differ from ${opts.expected}: fix them or record them with --write-expected`,
      );
      exit = 1;
    }
  }
  if (opts.writeExpected) {
    writeExpected(opts.writeExpected, runtimePath, results);
    tap.comment(`results recorded in ${opts.writeExpected}`);
  }
  if (interrupted) tap.comment('interrupted');
  tap.line(`${count('pass')} passed, ${count('fail') - knownFailures} failed, ${count('skip')} skipped`);
  return exit;
}

async function runCase(c: Case, t: CaseContext): Promise<{ status: Status; reason?: string }> {
  const timeoutMs = c.timeoutMs ?? DEFAULT_CASE_TIMEOUT_MS;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((res) => {
    timer = setTimeout(() => res('timeout'), timeoutMs);
  });
  try {
    const outcome = await Promise.race([c.run(t).then(() => 'done' as const), timeout]);
    if (outcome === 'timeout') {
      t.aborted = true;
      return { status: 'fail', reason: `timed out after ${timeoutMs / 1000} s` };
    }
  } catch (err) {
    if (err instanceof SkipCase) {
      if (t.assertions.some((a) => !a.ok)) return { status: 'fail', reason: `then skipped: ${err.message}` };
      return { status: 'skip', reason: err.message };
    }
    if (err instanceof CaseAborted) return { status: 'fail', reason: 'interrupted' };
    if (!(err instanceof StopCase)) return { status: 'fail', reason: `error in the case: ${String(err)}` };
  } finally {
    clearTimeout(timer);
  }
  if (t.assertions.length === 0) return { status: 'fail', reason: 'the case checked nothing' };
  return { status: t.assertions.every((a) => a.ok) ? 'pass' : 'fail' };
}

function withTimeout<T>(p: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((res) => {
      timer = setTimeout(() => res(fallback), ms);
    }),
  ]);
}

function describeHost(suite: Suite): string {
  const h = suite.host;
  const hybrid = h.cgroupLayout === 'v1' && h.hierarchies.some((x) => x.version === 2);
  return [
    `host: cgroup ${h.cgroupLayout}${hybrid ? ' (hybrid: cgroup2 mounted too)' : ''}; controllers: ${[...h.controllers].sort().join(' ')}`,
    `host: apparmor ${h.apparmor ? 'on' : 'off'}, selinux ${h.selinux ? 'on' : 'off'}, CapBnd ${h.capBounding.toString(16)}`,
    process.env[HIDDEN_ENV] === '1'
      ? `host: cgroup2 hidden: ${CONTROLLERS_FILE} covered in a private mount namespace`
      : '',
  ]
    .filter(Boolean)
    .join('\n');
}

/**
 * The last line of defence after all cases: unmount anything left under the run's
 * directory, remove the run's cgroups wherever a runtime put them, delete the directory.
 */
function finalSweep(suite: Suite): string[] {
  const notes: string[] = [];
  const leftovers = readMountInfo()
    .filter((m) => m.mountPoint.startsWith(`${suite.runDir}/`))
    .reverse();
  for (const m of leftovers) {
    notes.push(`unmounted leftover ${m.mountPoint}`);
    spawnSync('umount', ['-l', m.mountPoint]);
  }
  for (const dir of candidateDirs(suite.host, suite.cgroupParent)) {
    const removed = removeTree(dir);
    // The parent itself is the suite's to remove; only what is under it counts as leftover.
    for (const d of removed.filter((x) => x !== dir)) notes.push(`removed leftover cgroup ${d}`);
  }
  if (readMountInfo().some((m) => m.mountPoint.startsWith(`${suite.runDir}/`))) {
    notes.push(`kept ${suite.runDir}: mounts remain under it`);
  } else {
    rmSync(suite.runDir, { recursive: true, force: true });
  }
  return notes;
}

function loadExpected(path: string): ExpectedFile {
  return JSON.parse(readFileSync(path, 'utf8')) as ExpectedFile;
}

function compare(results: Map<string, Status>, expected: ExpectedFile): string[] {
  const out: string[] = [];
  for (const [name, got] of results) {
    const want = expected.cases[name];
    if (want === undefined) out.push(`${name}: not recorded (got ${got})`);
    else if (want !== got) out.push(`${name}: expected ${want}, got ${got}`);
  }
  return out;
}

function writeExpected(path: string, runtimePath: string, results: Map<string, Status>): void {
  const old = existsSync(path) ? loadExpected(path).cases : {};
  const merged = { ...old, ...Object.fromEntries(results) };
  const ordered = Object.fromEntries(
    allCases.filter((c) => merged[c.name] !== undefined).map((c) => [c.name, merged[c.name]]),
  );
  const file: ExpectedFile = { runtime: runtimePath.replace(repoRoot, ''), cases: ordered };
  writeFileSync(path, `${JSON.stringify(file, null, 2)}\n`);
}

process.exitCode = await main();
