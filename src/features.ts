import type { Features } from './spec/types/features.js';
import { MOUNT_OPTIONS } from './linux/mount-options.js';
import { seccompFeatures } from './linux/seccomp.js';
import { memoryPolicyFeatures } from './linux/mempolicy.js';
import { CAPABILITIES, NAMESPACE_FILES } from './spec/linux-names.js';
import { VERSION, SPEC_VERSION } from './version.js';
import { sdBusAvailable } from './sys/sdbus.js';
import { criuBinary } from './linux/criu.js';

/**
 * What runts implements, one switch per feature: the change that makes a feature work
 * turns its switch on, so `runts features` never claims more than runts does.
 */
const IMPLEMENTED = {
  cgroupV1: true,
  cgroupV2: true,
  cgroupSystemd: true,
  cgroupSystemdUser: true,
  cgroupRdma: false,
  seccomp: true,
  apparmor: true,
  selinux: false,
  intelRdt: true,
  idmapMounts: true,
  netDevices: true,
  memoryPolicy: true,
  checkpoint: true,
} satisfies Record<string, boolean>;

/** The lifecycle hooks of config.json that runts runs. */
const HOOKS = ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'];

/** The features document of the runtime-spec (features.md), as `runts features` prints it. */
export function featuresDocument(): Features {
  return {
    ociVersionMin: '1.0.0',
    ociVersionMax: SPEC_VERSION,
    hooks: [...HOOKS],
    // idmap and ridmap only while idmapped mounts work (see mountExtensions)
    mountOptions: MOUNT_OPTIONS.filter((o) => IMPLEMENTED.idmapMounts || (o !== 'idmap' && o !== 'ridmap')),
    linux: {
      namespaces: Object.keys(NAMESPACE_FILES).sort(),
      capabilities: [...CAPABILITIES],
      cgroup: {
        v1: IMPLEMENTED.cgroupV1,
        v2: IMPLEMENTED.cgroupV2,
        // the driver talks to systemd through libsystemd, which a host without systemd may lack
        systemd: IMPLEMENTED.cgroupSystemd && sdBusAvailable(),
        systemdUser: IMPLEMENTED.cgroupSystemdUser && sdBusAvailable(),
        rdma: IMPLEMENTED.cgroupRdma,
      },
      seccomp: IMPLEMENTED.seccomp ? seccompFeatures() : { enabled: false },
      apparmor: { enabled: IMPLEMENTED.apparmor },
      selinux: { enabled: IMPLEMENTED.selinux },
      intelRdt: { enabled: IMPLEMENTED.intelRdt, schemata: IMPLEMENTED.intelRdt, monitoring: IMPLEMENTED.intelRdt },
      mountExtensions: { idmap: { enabled: IMPLEMENTED.idmapMounts } },
      netDevices: { enabled: IMPLEMENTED.netDevices },
      ...(IMPLEMENTED.memoryPolicy ? { memoryPolicy: memoryPolicyFeatures() } : {}),
    },
    annotations: {
      'io.github.runts.version': VERSION,
      // checkpoint and restore run criu, which a host may lack (`check` asks criu whether this kernel lets it work)
      'io.github.runts.checkpoint.enabled': String(IMPLEMENTED.checkpoint && criuBinary() !== undefined),
    },
  };
}
