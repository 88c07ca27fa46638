/**
 * The parts of config.json the cases write. Fields are loose on purpose: cases also write
 * invalid and unknown values to see the runtime refuse or ignore them.
 */
export interface Hook {
  path: string;
  args?: string[];
  env?: string[];
  timeout?: number;
}

export interface Mount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
}

export interface IdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

export interface Process {
  terminal?: boolean;
  user: { uid: number; gid: number; umask?: number; additionalGids?: number[] };
  args: string[];
  env?: string[];
  cwd: string;
  capabilities?: Partial<Record<'bounding' | 'effective' | 'inheritable' | 'permitted' | 'ambient', string[]>>;
  rlimits?: { type: string; soft: number; hard: number }[];
  noNewPrivileges?: boolean;
  apparmorProfile?: string;
  selinuxLabel?: string;
  oomScoreAdj?: number;
}

export interface Linux {
  namespaces?: { type: string; path?: string }[];
  uidMappings?: IdMapping[];
  gidMappings?: IdMapping[];
  devices?: {
    path: string;
    type: string;
    major?: number;
    minor?: number;
    fileMode?: number;
    uid?: number;
    gid?: number;
  }[];
  cgroupsPath?: string;
  resources?: Record<string, unknown>;
  sysctl?: Record<string, string>;
  seccomp?: Record<string, unknown>;
  rootfsPropagation?: string;
  maskedPaths?: string[];
  readonlyPaths?: string[];
  mountLabel?: string;
  memoryPolicy?: { mode: string; nodes?: string; flags?: string[] };
  netDevices?: Record<string, { name?: string }>;
}

export interface Config {
  ociVersion: string;
  process?: Process;
  root: { path: string; readonly?: boolean };
  hostname?: string;
  domainname?: string;
  mounts?: Mount[];
  hooks?: Partial<
    Record<'prestart' | 'createRuntime' | 'createContainer' | 'startContainer' | 'poststart' | 'poststop', Hook[]>
  >;
  annotations?: Record<string, string>;
  linux?: Linux;
  [unknown: string]: unknown;
}

/**
 * The bundles declare the oldest release that has every feature they use (v1.0.2 brought
 * the createRuntime, createContainer and startContainer hooks). A bundle of 1.0.2 is
 * compatible with every runtime of 1.0.2 or later (config.md "Specification version"),
 * so runtimes that implement an older 1.x than 1.3 can run the suite too.
 */
export const SPEC_VERSION = '1.0.2';

/** For the cases that use what v1.1.0 added: domainname, seccomp errnoRet, capability warnings. */
export const SPEC_VERSION_1_1 = '1.1.0';

/** For the cases that use what v1.3.0 added: memoryPolicy. */
export const SPEC_VERSION_1_3 = '1.3.0';

/** The capabilities `runc spec` grants: enough for busybox, far from everything. */
export const DEFAULT_CAPS = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];

/**
 * A plain, valid configuration in the shape runtimes generate for themselves (`runc
 * spec`): the starting point every case changes only where its subject is.
 */
export function defaultConfig(cgroupsPath: string): Config {
  return {
    ociVersion: SPEC_VERSION,
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: ['true'],
      env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'],
      cwd: '/',
      capabilities: {
        bounding: [...DEFAULT_CAPS],
        effective: [...DEFAULT_CAPS],
        permitted: [...DEFAULT_CAPS],
      },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: false },
    hostname: 'conformance',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      {
        destination: '/dev',
        type: 'tmpfs',
        source: 'tmpfs',
        options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'],
      },
      {
        destination: '/dev/pts',
        type: 'devpts',
        source: 'devpts',
        options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620'],
      },
      {
        destination: '/dev/shm',
        type: 'tmpfs',
        source: 'shm',
        options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'],
      },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    ],
    linux: {
      namespaces: [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }],
      cgroupsPath,
      maskedPaths: [
        '/proc/acpi',
        '/proc/kcore',
        '/proc/keys',
        '/proc/latency_stats',
        '/proc/timer_list',
        '/proc/timer_stats',
        '/proc/sched_debug',
        '/sys/firmware',
        '/proc/scsi',
      ],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  };
}
