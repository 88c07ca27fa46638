import { cgroupCases } from '../lib/cgroup-cases.js';
import { req } from '../lib/spec.js';

const shares = req(
  'config-linux.md',
  'CPU',
  '`shares` (uint64, OPTIONAL) - specifies a relative share of CPU time available to the tasks in a cgroup',
);
const quota = req(
  'config-linux.md',
  'CPU',
  '`quota` (int64, OPTIONAL) - specifies the total amount of time in microseconds for which all tasks in a cgroup can run during one period (as defined by `period` below)',
);
const period = req(
  'config-linux.md',
  'CPU',
  "`period` (uint64, OPTIONAL) - specifies a period of time in microseconds for how regularly a cgroup's access to CPU resources should be reallocated (CFS scheduler only)",
);
const cpus = req('config-linux.md', 'CPU', '`cpus` (string, OPTIONAL) - list of CPUs the container will run on.');
const mems = req(
  'config-linux.md',
  'CPU',
  '`mems` (string, OPTIONAL) - list of memory nodes the container will run on.',
);

const SHARES = 512;
const QUOTA = 50000;
const PERIOD = 100000;

export const cases = cgroupCases({
  area: 'cpus',
  controllers: ['cpu', 'cpuset'],
  // CPU 0 and memory node 0 exist on every machine.
  resources: (host) => ({
    cpu:
      host.cgroupLayout === 'v1'
        ? { shares: SHARES, quota: QUOTA, period: PERIOD, cpus: '0', mems: '0' }
        : { quota: QUOTA, period: PERIOD, cpus: '0', mems: '0' },
  }),
  files: (host) =>
    host.cgroupLayout === 'v1'
      ? [
          {
            controller: 'cpu',
            file: 'cpu.shares',
            want: String(SHARES),
            what: `cpu.shares is shares (${SHARES})`,
            req: shares,
          },
          {
            controller: 'cpu',
            file: 'cpu.cfs_quota_us',
            want: String(QUOTA),
            what: `cpu.cfs_quota_us is quota (${QUOTA})`,
            req: quota,
          },
          {
            controller: 'cpu',
            file: 'cpu.cfs_period_us',
            want: String(PERIOD),
            what: `cpu.cfs_period_us is period (${PERIOD})`,
            req: period,
          },
          { controller: 'cpuset', file: 'cpuset.cpus', want: '0', what: 'cpuset.cpus is cpus (0)', req: cpus },
          { controller: 'cpuset', file: 'cpuset.mems', want: '0', what: 'cpuset.mems is mems (0)', req: mems },
        ]
      : [
          {
            controller: 'cpu',
            file: 'cpu.max',
            want: `${QUOTA} ${PERIOD}`,
            what: `cpu.max is "quota period" (${QUOTA} ${PERIOD})`,
            req: quota,
          },
          { controller: 'cpuset', file: 'cpuset.cpus', want: '0', what: 'cpuset.cpus is cpus (0)', req: cpus },
          { controller: 'cpuset', file: 'cpuset.mems', want: '0', what: 'cpuset.mems is mems (0)', req: mems },
        ],
  script: 'echo "allowed=$(grep Cpus_allowed_list /proc/self/status | cut -f2)"',
  inside(t, kv) {
    t.equal(kv.allowed, '0', 'the container process may run on CPU 0 only', cpus);
  },
});
