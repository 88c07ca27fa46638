import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { cgroupCases } from '../lib/cgroup-cases.js';
import { controllerRoot } from '../lib/cgroups.js';
import type { HostFacts } from '../lib/host.js';
import { req } from '../lib/spec.js';

const throttle = req(
  'config-linux.md',
  'Block IO',
  '`throttleReadBpsDevice`, `throttleWriteBpsDevice` (array of objects, OPTIONAL) - an array of per-device bandwidth rate limits.',
);
const iops = req(
  'config-linux.md',
  'Block IO',
  '`throttleReadIOPSDevice`, `throttleWriteIOPSDevice` (array of objects, OPTIONAL) - an array of per-device IO rate limits.',
);
const weight = req(
  'config-linux.md',
  'Block IO',
  '`weight` (uint16, OPTIONAL) - specifies per-cgroup weight. This is default weight of the group on all devices until and unless overridden by per-device rules.',
);

const READ_BPS = 10485760;
const WRITE_BPS = 5242880;
const READ_IOPS = 1000;
const WRITE_IOPS = 500;
const WEIGHT = 300;

function device(host: HostFacts): { major: number; minor: number } {
  return host.blockDevice ?? { major: 0, minor: 0 };
}

function noDevice(host: HostFacts): string | undefined {
  return host.blockDevice ? undefined : 'no whole block device is listed in /proc/partitions';
}

/** The v1 weight file this kernel has (CFQ's blkio.weight or BFQ's), if any. */
function weightFile(host: HostFacts): string | undefined {
  const root = controllerRoot(host, 'blkio');
  if (!root) return undefined;
  return ['blkio.weight', 'blkio.bfq.weight'].find((f) => existsSync(join(root, f)));
}

export const cases = [
  ...cgroupCases({
    area: 'blkio',
    controllers: ['blkio'],
    skip: noDevice,
    resources: (host) => {
      const d = device(host);
      return {
        blockIO: {
          throttleReadBpsDevice: [{ ...d, rate: READ_BPS }],
          throttleWriteBpsDevice: [{ ...d, rate: WRITE_BPS }],
          throttleReadIOPSDevice: [{ ...d, rate: READ_IOPS }],
          throttleWriteIOPSDevice: [{ ...d, rate: WRITE_IOPS }],
        },
      };
    },
    files: (host) => {
      const { major, minor } = device(host);
      const dev = `${major}:${minor}`;
      if (host.cgroupLayout === 'v1') {
        const f = (file: string, rate: number, r: typeof throttle) => ({
          controller: 'blkio',
          file,
          want: (c: string) => c.split('\n').includes(`${dev} ${rate}`),
          what: `${file} holds "${dev} ${rate}"`,
          req: r,
        });
        return [
          f('blkio.throttle.read_bps_device', READ_BPS, throttle),
          f('blkio.throttle.write_bps_device', WRITE_BPS, throttle),
          f('blkio.throttle.read_iops_device', READ_IOPS, iops),
          f('blkio.throttle.write_iops_device', WRITE_IOPS, iops),
        ];
      }
      const line = `${dev} rbps=${READ_BPS} wbps=${WRITE_BPS} riops=${READ_IOPS} wiops=${WRITE_IOPS}`;
      return [
        {
          controller: 'io',
          file: 'io.max',
          want: (c: string) => c.split('\n').includes(line),
          what: `io.max holds "${line}"`,
          req: throttle,
        },
      ];
    },
  }),
  ...cgroupCases({
    area: 'blkio',
    variant: 'weight',
    controllers: ['blkio'],
    skip: (host) =>
      host.cgroupLayout === 'v1' && !weightFile(host)
        ? "this kernel's blkio controller has no weight file (neither blkio.weight nor blkio.bfq.weight)"
        : host.cgroupLayout === 'v2'
          ? "cgroup v2 has no blkio weight of the spec's range to compare with (io.weight uses another scale)"
          : undefined,
    resources: () => ({ blockIO: { weight: WEIGHT } }),
    files: (host) => {
      const file = weightFile(host) ?? 'blkio.weight';
      return [
        {
          controller: 'blkio',
          file,
          want: (c: string) => c.split('\n').some((l) => l === String(WEIGHT) || l === `default ${WEIGHT}`),
          what: `${file} is weight (${WEIGHT})`,
          req: weight,
        },
      ];
    },
  }),
];
