/* Generated from schemas/features.schema.json by `npm run gen:types`; edit the schema, not this file. */

/**
 * What the runtime implements for Linux.
 */
export type LinuxFeatures = {
  namespaces?: string[] | null;
  capabilities?: string[] | null;
  cgroup?: CgroupFeatures;
  seccomp?: SeccompFeatures;
  apparmor?: ApparmorFeatures;
  selinux?: SelinuxFeatures;
  intelRdt?: IntelRdtFeatures;
  memoryPolicy?: MemoryPolicyFeatures;
  mountExtensions?: MountExtensionsFeatures;
  netDevices?: NetDevicesFeatures;
} | null;
export type CgroupFeatures = {
  v1?: boolean | null;
  v2?: boolean | null;
  systemd?: boolean | null;
  systemdUser?: boolean | null;
  rdma?: boolean | null;
} | null;
export type SeccompFeatures = {
  enabled?: boolean | null;
  actions?: string[] | null;
  operators?: string[] | null;
  archs?: string[] | null;
  knownFlags?: string[] | null;
  supportedFlags?: string[] | null;
} | null;
export type ApparmorFeatures = {
  enabled?: boolean | null;
} | null;
export type SelinuxFeatures = {
  enabled?: boolean | null;
} | null;
export type IntelRdtFeatures = {
  enabled?: boolean | null;
  schemata?: boolean | null;
  monitoring?: boolean | null;
} | null;
export type MemoryPolicyFeatures = {
  modes?: string[] | null;
  flags?: string[] | null;
} | null;
export type MountExtensionsFeatures = {
  idmap?: IDMapFeatures;
} | null;
export type IDMapFeatures = {
  enabled?: boolean | null;
} | null;
export type NetDevicesFeatures = {
  enabled?: boolean | null;
} | null;
/**
 * Arbitrary metadata: string keys (never empty) to string values.
 */
export type Annotations = {
  [k: string]: string | undefined;
} | null;

/**
 * What the runtime implements, as `runts features` prints it.
 */
export interface Features {
  ociVersionMin: string;
  ociVersionMax: string;
  hooks?: string[] | null;
  mountOptions?: string[] | null;
  linux?: LinuxFeatures;
  annotations?: Annotations;
  potentiallyUnsafeConfigAnnotations?: string[] | null;
}
