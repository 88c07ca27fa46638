/* Generated from schemas/config.schema.json by `npm run gen:types`; edit the schema, not this file. */

/**
 * CAP_* names of capabilities(7).
 */
export type CapabilityList = string[];
export type SchedulerPolicy =
  'SCHED_OTHER' | 'SCHED_FIFO' | 'SCHED_RR' | 'SCHED_BATCH' | 'SCHED_ISO' | 'SCHED_IDLE' | 'SCHED_DEADLINE';
export type SchedulerFlag =
  | 'SCHED_FLAG_RESET_ON_FORK'
  | 'SCHED_FLAG_RECLAIM'
  | 'SCHED_FLAG_DL_OVERRUN'
  | 'SCHED_FLAG_KEEP_POLICY'
  | 'SCHED_FLAG_KEEP_PARAMS'
  | 'SCHED_FLAG_UTIL_CLAMP_MIN'
  | 'SCHED_FLAG_UTIL_CLAMP_MAX';
export type IOPriorityClass = 'IOPRIO_CLASS_RT' | 'IOPRIO_CLASS_BE' | 'IOPRIO_CLASS_IDLE';
export type LinuxNamespaceType = 'pid' | 'network' | 'mount' | 'ipc' | 'uts' | 'user' | 'cgroup' | 'time';
export type LinuxDeviceType = 'c' | 'b' | 'u' | 'p';
export type LinuxSeccompAction =
  | 'SCMP_ACT_KILL'
  | 'SCMP_ACT_KILL_PROCESS'
  | 'SCMP_ACT_KILL_THREAD'
  | 'SCMP_ACT_TRAP'
  | 'SCMP_ACT_ERRNO'
  | 'SCMP_ACT_TRACE'
  | 'SCMP_ACT_ALLOW'
  | 'SCMP_ACT_LOG'
  | 'SCMP_ACT_NOTIFY';
export type Arch =
  | 'SCMP_ARCH_X86'
  | 'SCMP_ARCH_X86_64'
  | 'SCMP_ARCH_X32'
  | 'SCMP_ARCH_ARM'
  | 'SCMP_ARCH_AARCH64'
  | 'SCMP_ARCH_MIPS'
  | 'SCMP_ARCH_MIPS64'
  | 'SCMP_ARCH_MIPS64N32'
  | 'SCMP_ARCH_MIPSEL'
  | 'SCMP_ARCH_MIPSEL64'
  | 'SCMP_ARCH_MIPSEL64N32'
  | 'SCMP_ARCH_PPC'
  | 'SCMP_ARCH_PPC64'
  | 'SCMP_ARCH_PPC64LE'
  | 'SCMP_ARCH_S390'
  | 'SCMP_ARCH_S390X'
  | 'SCMP_ARCH_PARISC'
  | 'SCMP_ARCH_PARISC64'
  | 'SCMP_ARCH_RISCV64'
  | 'SCMP_ARCH_LOONGARCH64'
  | 'SCMP_ARCH_M68K'
  | 'SCMP_ARCH_SH'
  | 'SCMP_ARCH_SHEB';
export type LinuxSeccompFlag =
  | 'SECCOMP_FILTER_FLAG_TSYNC'
  | 'SECCOMP_FILTER_FLAG_LOG'
  | 'SECCOMP_FILTER_FLAG_SPEC_ALLOW'
  | 'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV';
export type LinuxSeccompOperator =
  'SCMP_CMP_NE' | 'SCMP_CMP_LT' | 'SCMP_CMP_LE' | 'SCMP_CMP_EQ' | 'SCMP_CMP_GE' | 'SCMP_CMP_GT' | 'SCMP_CMP_MASKED_EQ';
export type MemoryPolicyMode =
  | 'MPOL_DEFAULT'
  | 'MPOL_BIND'
  | 'MPOL_INTERLEAVE'
  | 'MPOL_WEIGHTED_INTERLEAVE'
  | 'MPOL_PREFERRED'
  | 'MPOL_PREFERRED_MANY'
  | 'MPOL_LOCAL';
export type MemoryPolicyFlag = 'MPOL_F_NUMA_BALANCING' | 'MPOL_F_RELATIVE_NODES' | 'MPOL_F_STATIC_NODES';

/**
 * config.json of an OCI runtime-spec 1.3 bundle.
 */
export interface Spec {
  /**
   * Runtime-spec version the bundle complies with.
   */
  ociVersion: string;
  root: Root;
  mounts?: Mount[];
  process?: Process;
  hostname?: string;
  domainname?: string;
  hooks?: Hooks;
  annotations?: Annotations;
  linux?: Linux;
  solaris?: Solaris;
  windows?: Windows;
  vm?: VM;
  zos?: ZOS;
  freebsd?: FreeBSD;
}
export interface Root {
  /**
   * Root filesystem: absolute, or relative to the bundle.
   */
  path: string;
  readonly?: boolean;
}
export interface Mount {
  /**
   * Mount point inside the container.
   */
  destination: string;
  source?: string;
  options?: string[];
  type?: string;
  /**
   * Idmapped mount: uid mapping (needs gidMappings too).
   */
  uidMappings?: LinuxIDMapping[];
  /**
   * Idmapped mount: gid mapping (needs uidMappings too).
   */
  gidMappings?: LinuxIDMapping[];
}
/**
 * A range of ids: size ids starting at hostID appear as containerID onwards.
 */
export interface LinuxIDMapping {
  containerID: number;
  hostID: number;
  size: number;
}
/**
 * The container process.
 */
export interface Process {
  terminal?: boolean;
  consoleSize?: ConsoleSize;
  /**
   * Working directory, an absolute path in the container.
   */
  cwd: string;
  env?: string[];
  args?: string[];
  /**
   * Windows only.
   */
  commandLine?: string;
  user?: User;
  rlimits?: POSIXRlimit[];
  apparmorProfile?: string;
  capabilities?: LinuxCapabilities;
  noNewPrivileges?: boolean;
  oomScoreAdj?: number;
  scheduler?: Scheduler;
  selinuxLabel?: string;
  ioPriority?: LinuxIOPriority;
  execCPUAffinity?: CPUAffinity;
}
export interface ConsoleSize {
  height: number;
  width: number;
}
/**
 * The user the process runs as, ids in the container's user namespace.
 */
export interface User {
  uid: number;
  gid: number;
  umask?: number;
  additionalGids?: number[];
  /**
   * Windows only.
   */
  username?: string;
}
export interface POSIXRlimit {
  /**
   * RLIMIT_* name of getrlimit(2).
   */
  type: string;
  soft: number;
  hard: number;
}
export interface LinuxCapabilities {
  bounding?: CapabilityList;
  effective?: CapabilityList;
  inheritable?: CapabilityList;
  permitted?: CapabilityList;
  ambient?: CapabilityList;
}
/**
 * sched_setattr(2) parameters of the process.
 */
export interface Scheduler {
  policy: SchedulerPolicy;
  nice?: number;
  priority?: number;
  flags?: SchedulerFlag[];
  runtime?: number;
  deadline?: number;
  period?: number;
}
export interface LinuxIOPriority {
  class: IOPriorityClass;
  priority: number;
}
export interface CPUAffinity {
  /**
   * CPUs the runtime's parent process runs on before joining the container's cgroup.
   */
  initial?: string;
  /**
   * CPUs the process runs on after joining the container's cgroup.
   */
  final?: string;
}
export interface Hooks {
  prestart?: Hook[];
  createRuntime?: Hook[];
  createContainer?: Hook[];
  startContainer?: Hook[];
  poststart?: Hook[];
  poststop?: Hook[];
}
export interface Hook {
  /**
   * Absolute path of the program.
   */
  path: string;
  args?: string[];
  env?: string[];
  /**
   * Seconds before the hook is aborted; at most 2147483 (2^31-1 ms, about 24 days), the longest timer the runtime sets.
   */
  timeout?: number;
}
/**
 * Arbitrary metadata: string keys (never empty) to string values.
 */
export interface Annotations {
  [k: string]: string | undefined;
}
/**
 * The Linux section of the configuration.
 */
export interface Linux {
  uidMappings?: LinuxIDMapping[];
  gidMappings?: LinuxIDMapping[];
  /**
   * Clock offsets of a new time namespace, by clock name.
   */
  timeOffsets?: {
    [k: string]: LinuxTimeOffset | undefined;
  };
  sysctl?: {
    [k: string]: string | undefined;
  };
  resources?: LinuxResources;
  cgroupsPath?: string;
  namespaces?: LinuxNamespace[];
  devices?: LinuxDevice[];
  /**
   * Host network devices to move into the container, by host name.
   */
  netDevices?: {
    [k: string]: LinuxNetDevice | undefined;
  };
  seccomp?: LinuxSeccomp;
  /**
   * The runtime-spec names the first four; engines also send the recursive forms (containerd's CRI: rshared, rslave), which runc accepts.
   */
  rootfsPropagation?: 'shared' | 'slave' | 'private' | 'unbindable' | 'rshared' | 'rslave' | 'rprivate' | 'runbindable';
  maskedPaths?: string[];
  readonlyPaths?: string[];
  mountLabel?: string;
  intelRdt?: LinuxIntelRdt;
  memoryPolicy?: LinuxMemoryPolicy;
  personality?: LinuxPersonality;
}
export interface LinuxTimeOffset {
  secs?: number;
  nanosecs?: number;
}
/**
 * cgroup limits of the container.
 */
export interface LinuxResources {
  devices?: LinuxDeviceCgroup[];
  memory?: LinuxMemory;
  cpu?: LinuxCPU;
  blockIO?: LinuxBlockIO;
  hugepageLimits?: LinuxHugepageLimit[];
  network?: LinuxNetwork;
  pids?: LinuxPids;
  /**
   * Limits per RDMA device name.
   */
  rdma?: {
    [k: string]: LinuxRdma | undefined;
  };
  /**
   * cgroup v2 files and the values to write to them.
   */
  unified?: {
    [k: string]: string | undefined;
  };
}
export interface LinuxDeviceCgroup {
  allow: boolean;
  type?: 'a' | 'c' | 'b';
  /**
   * -1 or absent: any major, as runc reads it (Docker and Podman write -1 for a rule's *).
   */
  major?: number;
  /**
   * -1 or absent: any minor.
   */
  minor?: number;
  access?: string;
}
export interface LinuxMemory {
  limit?: number;
  reservation?: number;
  swap?: number;
  kernel?: number;
  kernelTCP?: number;
  swappiness?: number;
  disableOOMKiller?: boolean;
  useHierarchy?: boolean;
  checkBeforeUpdate?: boolean;
}
export interface LinuxCPU {
  shares?: number;
  quota?: number;
  burst?: number;
  period?: number;
  realtimeRuntime?: number;
  realtimePeriod?: number;
  /**
   * CPUs the container runs on.
   */
  cpus?: string;
  /**
   * Memory nodes the container uses.
   */
  mems?: string;
  idle?: number;
}
export interface LinuxBlockIO {
  weight?: number;
  leafWeight?: number;
  weightDevice?: LinuxWeightDevice[];
  throttleReadBpsDevice?: LinuxThrottleDevice[];
  throttleWriteBpsDevice?: LinuxThrottleDevice[];
  throttleReadIOPSDevice?: LinuxThrottleDevice[];
  throttleWriteIOPSDevice?: LinuxThrottleDevice[];
}
export interface LinuxWeightDevice {
  major: number;
  minor: number;
  weight?: number;
  leafWeight?: number;
}
export interface LinuxThrottleDevice {
  major: number;
  minor: number;
  rate: number;
}
export interface LinuxHugepageLimit {
  pageSize: string;
  limit: number;
}
export interface LinuxNetwork {
  classID?: number;
  priorities?: LinuxInterfacePriority[];
}
export interface LinuxInterfacePriority {
  name: string;
  priority: number;
}
export interface LinuxPids {
  /**
   * Maximum number of tasks, -1 for no limit.
   */
  limit?: number;
}
export interface LinuxRdma {
  hcaHandles?: number;
  hcaObjects?: number;
}
export interface LinuxNamespace {
  type: LinuxNamespaceType;
  /**
   * Namespace file to join; a new namespace is created when absent.
   */
  path?: string;
}
/**
 * A device node the container gets; major and minor are required unless type is p.
 */
export interface LinuxDevice {
  type: LinuxDeviceType;
  path: string;
  major?: number;
  minor?: number;
  /**
   * Decimal mode bits.
   */
  fileMode?: number;
  uid?: number;
  gid?: number;
}
export interface LinuxNetDevice {
  /**
   * Name inside the container (the host name when absent).
   */
  name?: string;
}
export interface LinuxSeccomp {
  defaultAction: LinuxSeccompAction;
  defaultErrnoRet?: number;
  architectures?: Arch[];
  flags?: LinuxSeccompFlag[];
  /**
   * Unix socket that receives the notify fd for SCMP_ACT_NOTIFY.
   */
  listenerPath?: string;
  listenerMetadata?: string;
  syscalls?: LinuxSyscall[];
}
export interface LinuxSyscall {
  /**
   * @minItems 1
   */
  names: string[];
  action: LinuxSeccompAction;
  errnoRet?: number;
  args?: LinuxSeccompArg[];
}
export interface LinuxSeccompArg {
  /**
   * Which of the six syscall arguments.
   */
  index: number;
  value: number;
  valueTwo?: number;
  op: LinuxSeccompOperator;
}
export interface LinuxIntelRdt {
  closID?: string;
  l3CacheSchema?: string;
  memBwSchema?: string;
  schemata?: string[];
  enableMonitoring?: boolean;
}
export interface LinuxMemoryPolicy {
  mode: MemoryPolicyMode;
  /**
   * Memory nodes of the policy.
   */
  nodes?: string;
  flags?: MemoryPolicyFlag[];
}
export interface LinuxPersonality {
  domain: 'LINUX' | 'LINUX32';
  flags?: string[];
}
/**
 * Solaris section: accepted as an object, not honoured on Linux.
 */
export interface Solaris {
  [k: string]: unknown | undefined;
}
/**
 * Windows section: accepted as an object, not honoured on Linux.
 */
export interface Windows {
  [k: string]: unknown | undefined;
}
/**
 * virtual-machine section: accepted as an object, not honoured on Linux.
 */
export interface VM {
  [k: string]: unknown | undefined;
}
/**
 * z/OS section: accepted as an object, not honoured on Linux.
 */
export interface ZOS {
  [k: string]: unknown | undefined;
}
/**
 * FreeBSD section: accepted as an object, not honoured on Linux.
 */
export interface FreeBSD {
  [k: string]: unknown | undefined;
}
