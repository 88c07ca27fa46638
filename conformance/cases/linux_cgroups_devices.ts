import { cgroupCases } from '../lib/cgroup-cases.js';
import { req } from '../lib/spec.js';

const allowed = req(
  'config-linux.md',
  'Allowed Device list',
  '`devices` (array of objects, OPTIONAL) configures the allowed device list.',
);
const ordered = req('config-linux.md', 'Allowed Device list', 'The runtime MUST apply entries in the listed order.');

/**
 * /dev/fuse (c 10:229) is no runtime's default device, so only the configured rules decide
 * whether the container may open it. A denied open fails with EPERM before any driver is
 * asked; an allowed one succeeds, or fails otherwise where fuse is not loaded.
 */
const OPEN = (mode: string, key: string) =>
  `r=$( (exec 3${mode}/dev/fuse) 2>&1 ); case "$r" in *"not permitted"*) echo ${key}=denied;; *) echo ${key}=allowed;; esac`;

export const cases = cgroupCases({
  area: 'devices',
  controllers: ['devices'],
  resources: () => ({
    devices: [
      { allow: false, access: 'rwm' },
      { allow: true, type: 'c', major: 10, minor: 229, access: 'rw' },
      { allow: false, type: 'c', major: 10, minor: 229, access: 'w' },
    ],
  }),
  edit(c, b) {
    b.linux.devices = [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229, fileMode: 0o666, uid: 0, gid: 0 }];
  },
  files: (host) =>
    host.cgroupLayout === 'v1'
      ? [
          {
            controller: 'devices',
            file: 'devices.list',
            want: (c: string) => c.split('\n').includes('c 10:229 r') && !c.split('\n').includes('a *:* rwm'),
            what: 'devices.list allows c 10:229 for reading only, and not every device',
            req: ordered,
          },
        ]
      : [],
  script: [OPEN('<', 'read'), OPEN('>', 'write')].join('; '),
  inside(t, kv) {
    t.equal(
      kv.read,
      'allowed',
      'the container may open /dev/fuse for reading ("rw" allowed, then "w" denied)',
      allowed,
    );
    t.equal(kv.write, 'denied', 'the container may not open /dev/fuse for writing: the later rule wins', ordered);
  },
});
