import type { GlobalOptions } from './options.js';
import { RuntsError } from '../errors.js';
import { readState, statusOf } from '../container/state.js';
import { oomKills, readStats } from '../linux/cgroups/stats.js';
import { writeStdout } from '../log.js';

// µ written as an escape: the bundle stays ASCII (scripts/bundle.ts)
const UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, '\u00b5s': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A Go duration as runc's --interval takes it ("5s", "500ms", "1m30s"), in milliseconds. */
export function parseDuration(text: string): number {
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ns|us|\u00b5s|ms|s|m|h)/g)];
  if (!parts.length || parts.map((p) => p[0]).join('') !== text) {
    throw new RuntsError(`--interval: ${JSON.stringify(text)} is not a duration (like 5s or 500ms)`);
  }
  const ms = parts.reduce((sum, p) => sum + Number(p[1]) * UNITS[p[2]], 0);
  if (ms <= 0) throw new RuntsError('--interval must be greater than 0');
  // setTimeout takes a 32-bit count of milliseconds and fires at once past it
  if (ms > MAX_INTERVAL_MS) throw new RuntsError(`--interval: ${JSON.stringify(text)} is out of range: at most 596h`);
  return ms;
}

/** 2^31 - 1 ms, about 596 hours: the longest setTimeout waits. */
const MAX_INTERVAL_MS = 2 ** 31 - 1;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * events, as runc's: `--stats` prints one stats event; otherwise a stats event every
 * interval and an oom event whenever the OOM killer strikes in the container, until it
 * stops. One JSON object per line.
 */
export async function run(id: string, flags: { interval: string; stats: boolean }, g: GlobalOptions): Promise<number> {
  const interval = parseDuration(flags.interval);
  const state = readState(g.root, id);
  if (!state.cgroups) throw new RuntsError('the container has no cgroups to report on');
  const cgroups = state.cgroups;
  const emit = (type: string, data?: unknown) => writeStdout(JSON.stringify({ type, id, ...(data ? { data } : {}) }) + '\n');
  if (statusOf(g.root, state) === 'stopped') throw new RuntsError('container not running');
  if (flags.stats) {
    emit('stats', readStats(cgroups));
    return 0;
  }
  // OOM kills are polled more often than stats are printed, so each is reported soon.
  const tick = Math.min(interval, 200);
  let kills = oomKills(cgroups);
  let nextStats = 0;
  while (statusOf(g.root, readState(g.root, id)) !== 'stopped') {
    const now = Date.now();
    const k = oomKills(cgroups);
    if (k > kills) emit('oom');
    kills = k;
    if (now >= nextStats) {
      emit('stats', readStats(cgroups));
      nextStats = now + interval;
    }
    await sleep(tick);
  }
  return 0;
}
