import { cgroupCases } from '../lib/cgroup-cases.js';
import { req } from '../lib/spec.js';

const limit = req(
  'config-linux.md',
  'PIDs',
  '`limit` (int64, OPTIONAL) - specifies the maximum number of tasks in the cgroup, with `-1` indicating no limit (`max`).',
);

const LIMIT = 7;

export const cases = cgroupCases({
  area: 'pids',
  controllers: ['pids'],
  resources: () => ({ pids: { limit: LIMIT } }),
  files: () => [
    { controller: 'pids', file: 'pids.max', want: String(LIMIT), what: `pids.max is limit (${LIMIT})`, req: limit },
  ],
});
