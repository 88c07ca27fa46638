import { readFileSync } from 'node:fs';
import type { Case, CaseContext } from '../lib/context.js';
import { capBit } from '../lib/caps.js';
import { hasCapability } from '../lib/host.js';
import { req } from '../lib/spec.js';

const soft = req('config.md', 'POSIX process', '`rlim.rlim_cur` MUST match the configured value.');
const hard = req('config.md', 'POSIX process', '`rlim.rlim_max` MUST match the configured value.');

/** /proc/<pid>/limits row names of the limits the cases set. */
const ROWS: Record<string, string> = {
  RLIMIT_NOFILE: 'Max open files',
  RLIMIT_CORE: 'Max core file size',
  RLIMIT_NPROC: 'Max processes',
  RLIMIT_MSGQUEUE: 'Max msgqueue size',
  RLIMIT_STACK: 'Max stack size',
};

function parseLimits(text: string): Map<string, { soft: string; hard: string }> {
  const out = new Map<string, { soft: string; hard: string }>();
  for (const [type, row] of Object.entries(ROWS)) {
    const line = text.split('\n').find((l) => l.startsWith(row));
    if (!line) continue;
    const [s, h] = line.slice(row.length).trim().split(/\s+/);
    out.set(type, { soft: s, hard: h });
  }
  return out;
}

async function check(t: CaseContext, rlimits: { type: string; soft: number; hard: number }[]): Promise<void> {
  const b = await t.bundle((c, b) => {
    c.process!.rlimits = rlimits;
    b.shell('cat /proc/self/limits');
  });
  const limits = parseLimits(await t.runToExit(b));
  for (const r of rlimits) {
    const got = limits.get(r.type);
    t.equal(got?.soft, String(r.soft), `${r.type} soft limit is ${r.soft}`, soft);
    t.equal(got?.hard, String(r.hard), `${r.type} hard limit is ${r.hard}`, hard);
  }
}

export const cases: Case[] = [
  {
    name: 'process_rlimits',
    description: "each configured rlimit is the process's soft and hard limit (lowered below the runtime's own)",
    async run(t) {
      const own = parseLimits(readFileSync('/proc/self/limits', 'utf8'));
      const below = (type: string, want: number) => {
        const h = own.get(type)?.hard;
        return h === undefined || h === 'unlimited' ? want : Math.min(want, Number(h));
      };
      await check(t, [
        { type: 'RLIMIT_NOFILE', soft: below('RLIMIT_NOFILE', 512), hard: below('RLIMIT_NOFILE', 1000) },
        { type: 'RLIMIT_CORE', soft: 0, hard: below('RLIMIT_CORE', 4096) },
        { type: 'RLIMIT_NPROC', soft: below('RLIMIT_NPROC', 800), hard: below('RLIMIT_NPROC', 900) },
        { type: 'RLIMIT_MSGQUEUE', soft: below('RLIMIT_MSGQUEUE', 8192), hard: below('RLIMIT_MSGQUEUE', 16384) },
      ]);
    },
  },
  {
    name: 'process_rlimits/raise_hard',
    description: "a hard limit above the runtime's own is set (this needs CAP_SYS_RESOURCE)",
    async run(t) {
      if (!hasCapability(t.host, capBit('CAP_SYS_RESOURCE'))) {
        return t.skip("raising a hard limit needs CAP_SYS_RESOURCE, which is not in this host's bounding set");
      }
      const own = parseLimits(readFileSync('/proc/self/limits', 'utf8')).get('RLIMIT_NOFILE');
      const current = Number(own?.hard);
      if (!Number.isFinite(current)) return t.skip("the runtime's own RLIMIT_NOFILE hard limit is not a number");
      await check(t, [{ type: 'RLIMIT_NOFILE', soft: 1024, hard: current + 1024 }]);
    },
  },
];
