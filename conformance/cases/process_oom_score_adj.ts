import { readFileSync } from 'node:fs';
import { capBit } from '../lib/caps.js';
import type { Case, CaseContext } from '../lib/context.js';
import { hasCapability } from '../lib/host.js';
import { req } from '../lib/spec.js';

const set = req(
  'config.md',
  'Linux Process',
  'If `oomScoreAdj` is set, the runtime MUST set `oom_score_adj` to the given value.',
);
const unset = req(
  'config.md',
  'Linux Process',
  'If `oomScoreAdj` is not set, the runtime MUST NOT change the value of `oom_score_adj`.',
);

async function observed(t: CaseContext, value: number | undefined): Promise<string> {
  const b = await t.bundle((c, b) => {
    if (value === undefined) delete c.process!.oomScoreAdj;
    else c.process!.oomScoreAdj = value;
    b.shell('cat /proc/self/oom_score_adj');
  });
  return (await t.runToExit(b)).trim();
}

export const cases: Case[] = [
  {
    name: 'process_oom_score_adj',
    description: "oomScoreAdj is applied when set and the caller's value is kept when not",
    async run(t) {
      const own = readFileSync('/proc/self/oom_score_adj', 'utf8').trim();
      const raised = Math.min(Number(own) + 500, 1000);
      t.equal(await observed(t, raised), String(raised), `oomScoreAdj ${raised} is the process's oom_score_adj`, set);
      t.equal(await observed(t, undefined), own, "without oomScoreAdj the process keeps the runtime's value", unset);
    },
  },
  {
    name: 'process_oom_score_adj/lower',
    description: "an oomScoreAdj below the runtime's own is applied (this needs CAP_SYS_RESOURCE)",
    async run(t) {
      if (!hasCapability(t.host, capBit('CAP_SYS_RESOURCE'))) {
        return t.skip("lowering oom_score_adj needs CAP_SYS_RESOURCE, which is not in this host's bounding set");
      }
      const lowered = Math.max(Number(readFileSync('/proc/self/oom_score_adj', 'utf8').trim()) - 500, -1000);
      t.equal(
        await observed(t, lowered),
        String(lowered),
        `oomScoreAdj ${lowered} is the process's oom_score_adj`,
        set,
      );
    },
  },
];
