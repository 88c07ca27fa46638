import { cgroupCases } from '../lib/cgroup-cases.js';
import { req } from '../lib/spec.js';

const limit = req('config-linux.md', 'Memory', '`limit` (int64, OPTIONAL) - sets limit of memory usage');
const reservation = req(
  'config-linux.md',
  'Memory',
  '`reservation` (int64, OPTIONAL) - sets soft limit of memory usage',
);
const swap = req('config-linux.md', 'Memory', '`swap` (int64, OPTIONAL) - sets limit of memory+Swap usage');
const swappiness = req(
  'config-linux.md',
  'Memory',
  "`swappiness` (uint64, OPTIONAL) - sets swappiness parameter of vmscan (See sysctl's vm.swappiness)",
);
const oom = req('config-linux.md', 'Memory', 'To disable it, specify a value of `true`.');

const LIMIT = 50 * 1024 * 1024;
const RESERVATION = 40 * 1024 * 1024;
const SWAP = 100 * 1024 * 1024;

export const cases = cgroupCases({
  area: 'memory',
  controllers: ['memory'],
  resources: (host) => ({
    memory:
      host.cgroupLayout === 'v1'
        ? { limit: LIMIT, reservation: RESERVATION, swap: SWAP, swappiness: 30, disableOOMKiller: true }
        : { limit: LIMIT, reservation: RESERVATION, swap: SWAP },
  }),
  files: (host) =>
    host.cgroupLayout === 'v1'
      ? [
          {
            controller: 'memory',
            file: 'memory.limit_in_bytes',
            want: String(LIMIT),
            what: `memory.limit_in_bytes is limit (${LIMIT})`,
            req: limit,
          },
          {
            controller: 'memory',
            file: 'memory.soft_limit_in_bytes',
            want: String(RESERVATION),
            what: `memory.soft_limit_in_bytes is reservation (${RESERVATION})`,
            req: reservation,
          },
          {
            controller: 'memory',
            file: 'memory.memsw.limit_in_bytes',
            want: String(SWAP),
            what: `memory.memsw.limit_in_bytes is swap (${SWAP})`,
            req: swap,
          },
          {
            controller: 'memory',
            file: 'memory.swappiness',
            want: '30',
            what: 'memory.swappiness is swappiness (30)',
            req: swappiness,
          },
          {
            controller: 'memory',
            file: 'memory.oom_control',
            want: (c) => /^oom_kill_disable 1$/m.test(c),
            what: 'memory.oom_control has oom_kill_disable 1 (disableOOMKiller)',
            req: oom,
          },
        ]
      : [
          {
            controller: 'memory',
            file: 'memory.max',
            want: String(LIMIT),
            what: `memory.max is limit (${LIMIT})`,
            req: limit,
          },
          {
            controller: 'memory',
            file: 'memory.low',
            want: String(RESERVATION),
            what: `memory.low is reservation (${RESERVATION})`,
            req: reservation,
          },
          {
            controller: 'memory',
            file: 'memory.swap.max',
            want: String(SWAP - LIMIT),
            what: `memory.swap.max is swap minus limit (${SWAP - LIMIT}): swap limits memory+swap`,
            req: swap,
          },
        ],
});
