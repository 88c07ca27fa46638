import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Mount, Spec } from '../spec/types/config.js';
import type { GlobalOptions } from './options.js';
import { RuntsError } from '../errors.js';
import { SPEC_VERSION } from '../version.js';

export interface SpecOptions {
  bundle: string;
  rootless: boolean;
}

const DEFAULT_CAPABILITIES = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];

/** The configuration `runc spec` writes, with runts' hostname. */
export function defaultSpec(): Spec {
  return {
    ociVersion: SPEC_VERSION,
    process: {
      terminal: true,
      user: { uid: 0, gid: 0 },
      args: ['sh'],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'],
      cwd: '/',
      capabilities: {
        bounding: [...DEFAULT_CAPABILITIES],
        effective: [...DEFAULT_CAPABILITIES],
        permitted: [...DEFAULT_CAPABILITIES],
      },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: true },
    hostname: 'runts',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      {
        destination: '/dev/pts',
        type: 'devpts',
        source: 'devpts',
        options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
      },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
    ],
    linux: {
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      namespaces: [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'cgroup' }],
      maskedPaths: [
        '/proc/acpi',
        '/proc/asound',
        '/proc/kcore',
        '/proc/keys',
        '/proc/latency_stats',
        '/proc/timer_list',
        '/proc/timer_stats',
        '/proc/sched_debug',
        '/sys/firmware',
        '/proc/scsi',
        '/sys/devices/virtual/powercap',
      ],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  };
}

/**
 * The default configuration made fit for an unprivileged user, as `runc spec --rootless`
 * makes it: a user namespace mapping root to the caller, and nothing that needs real root.
 */
export function rootlessSpec(uid: number, gid: number): Spec {
  const spec = defaultSpec();
  const linux = spec.linux!;
  // A new network namespace would hold only lo: an unprivileged caller cannot connect it
  // to anything, so the container shares the caller's.
  linux.namespaces = [...linux.namespaces!.filter((ns) => ns.type !== 'network' && ns.type !== 'user'), { type: 'user' }];
  linux.uidMappings = [{ containerID: 0, hostID: uid, size: 1 }];
  linux.gidMappings = [{ containerID: 0, hostID: gid, size: 1 }];
  // Limits need a cgroup the caller may be unable to create or write to.
  delete linux.resources;
  const mounts: Mount[] = [];
  for (const mount of spec.mounts!) {
    if (mount.destination === '/sys') {
      // sysfs can be mounted only from a user namespace owning the network namespace, which
      // is the host's here: bind the host's /sys. The cgroup mount stays, as runc keeps it.
      mounts.push({ destination: '/sys', type: 'none', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] });
    } else {
      // Only the caller's ids are mapped: uid= and gid= would name unmapped ones.
      const options = mount.options?.filter((o) => !o.startsWith('uid=') && !o.startsWith('gid='));
      mounts.push(options ? { ...mount, options } : mount);
    }
  }
  spec.mounts = mounts;
  return spec;
}

/** `runts spec`: writes a default config.json into the bundle, never over an existing one. */
export async function run(opts: SpecOptions, _globals?: GlobalOptions, _name?: string): Promise<number> {
  const spec = opts.rootless ? rootlessSpec(process.geteuid!(), process.getegid!()) : defaultSpec();
  const file = join(opts.bundle, 'config.json');
  try {
    writeFileSync(file, JSON.stringify(spec, null, 2) + '\n', { flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new RuntsError('File config.json exists. Remove it first');
    throw RuntsError.fromNode(`write ${file}`, err);
  }
  return 0;
}
