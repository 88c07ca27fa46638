import { cgroupCases } from '../lib/cgroup-cases.js';
import { req } from '../lib/spec.js';

const classID = req(
  'config-linux.md',
  'Network',
  "`classID` (uint32, OPTIONAL) - is the network class identifier the cgroup's network packets will be tagged with",
);
const priorities = req(
  'config-linux.md',
  'Network',
  '`priorities` (array of objects, OPTIONAL) - specifies a list of objects of the priorities assigned to traffic originating from processes in the group and egressing the system on various interfaces.',
);

const CLASS_ID = 1048577;

export const cases = cgroupCases({
  area: 'network',
  controllers: ['net_cls', 'net_prio'],
  skip: (host) => (host.cgroupLayout === 'v2' ? 'cgroup v2 has no net_cls or net_prio controller' : undefined),
  resources: () => ({ network: { classID: CLASS_ID, priorities: [{ name: 'lo', priority: 7 }] } }),
  files: () => [
    {
      controller: 'net_cls',
      file: 'net_cls.classid',
      want: String(CLASS_ID),
      what: `net_cls.classid is classID (${CLASS_ID})`,
      req: classID,
    },
    {
      controller: 'net_prio',
      file: 'net_prio.ifpriomap',
      want: (c: string) => c.split('\n').includes('lo 7'),
      what: 'net_prio.ifpriomap gives lo priority 7',
      req: priorities,
    },
  ],
});
