import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { cgroupCases } from '../lib/cgroup-cases.js';
import { controllerRoot } from '../lib/cgroups.js';
import type { HostFacts } from '../lib/host.js';
import { req } from '../lib/spec.js';

const limit = req(
  'config-linux.md',
  'Huge page limits',
  '`limit` (uint64, REQUIRED) - limit in bytes of hugepagesize HugeTLB reservations (if supported) or usage.',
);

function pageSize(host: HostFacts): string {
  return host.hugepageSizes[0] ?? '2MB';
}

/** Two pages of the size: a limit the kernel keeps as it is. */
function bytes(size: string): number {
  const m = /^(\d+)([KMG])B$/.exec(size);
  const unit = { K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[(m?.[2] ?? 'M') as 'K' | 'M' | 'G'];
  return 2 * Number(m?.[1] ?? 2) * unit;
}

export const cases = cgroupCases({
  area: 'hugetlb',
  controllers: ['hugetlb'],
  skip: (host) => (host.hugepageSizes.length === 0 ? 'this kernel has no huge page sizes' : undefined),
  resources: (host) => ({ hugepageLimits: [{ pageSize: pageSize(host), limit: bytes(pageSize(host)) }] }),
  files: (host) => {
    const size = pageSize(host);
    const want = String(bytes(size));
    // The reservation limit where the kernel has one, or else the usage (page fault) limit.
    const [rsvd, usage] =
      host.cgroupLayout === 'v1'
        ? [`hugetlb.${size}.rsvd.limit_in_bytes`, `hugetlb.${size}.limit_in_bytes`]
        : [`hugetlb.${size}.rsvd.max`, `hugetlb.${size}.max`];
    const root = controllerRoot(host, 'hugetlb');
    const file = root && existsSync(join(root, rsvd)) ? rsvd : usage;
    return [{ controller: 'hugetlb', file, want, what: `${file} is the ${size} limit (${want})`, req: limit }];
  },
});
