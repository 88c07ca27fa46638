import { parseArgs } from 'node:util';
import type { BurstSizes } from './phases.js';
import { DEFAULT_RUNTIMES } from './runtimes.js';

export interface Options {
  runtimes: string;
  samples: number;
  /**
   * Rounds of the two bursts: a third of `samples`, which keeps a default run near ten
   * minutes; each burst's single runs still give hundreds of samples of their own.
   */
  burstRounds: number;
  /**
   * Rounds of single commands in the peak RSS pass, a tenth of `samples`; one round of the
   * bursts follows them. A command's peak RSS varies far less from run to run than its time.
   */
  peakRssRounds: number;
  bursts: BurstSizes;
  /** How often each limit check runs per runtime. */
  limitTries: number;
  out: string | undefined;
}

export const USAGE = `usage: npm run bench -- [options]
  --runtimes LIST   runtimes to compare, comma-separated; NAME or NAME=/path/to/cli
                    (default: ${DEFAULT_RUNTIMES.join(',')})
  --samples N       rounds of single commands, at least 1 (default: 30); the bursts
                    run a third as many rounds, and the peak RSS pass a tenth
  --quick           a smoke run: 3 rounds, one short burst of each kind, one try per
                    limit check, one peak RSS round
  --out FILE.json   where to write the JSON result; the table goes beside it as .txt
                    (default: bench/results/latest.json)
  -h, --help        this text`;

export class UsageError extends Error {}

/** Parses the command line; null means --help was asked for. */
export function parseOptions(argv: string[]): Options | null {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        runtimes: { type: 'string', default: DEFAULT_RUNTIMES.join(',') },
        samples: { type: 'string' },
        quick: { type: 'boolean', default: false },
        out: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (values.help) return null;
  const quick = values.quick ?? false;
  let samples = quick ? 3 : 30;
  if (values.samples !== undefined) {
    samples = Number(values.samples);
    if (!Number.isInteger(samples) || samples < 1) throw new UsageError(`--samples must be a positive integer, not ${values.samples}`);
  }
  return {
    runtimes: values.runtimes ?? DEFAULT_RUNTIMES.join(','),
    samples,
    burstRounds: Math.ceil(samples / 3),
    peakRssRounds: Math.ceil(samples / 10),
    bursts: quick ? { sequential: 10, parallel: 6, parallelJobs: 2 } : { sequential: 50, parallel: 20, parallelJobs: 2 },
    limitTries: quick ? 1 : 3,
    out: values.out,
  };
}
