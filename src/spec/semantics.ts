import { readFileSync, statSync, statfsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { Spec } from './types/config.js';
import { CAPABILITIES, RLIMITS } from './linux-names.js';
import { joinPath, type Problem } from './messages.js';
import { MAX_ARG_STRLEN, execArgumentsProblem } from './exec-args.js';

/**
 * What a schema cannot say about config.json on Linux: versions, the bundle's files,
 * combinations of fields, and names the kernel knows. Every check tolerates values of
 * the wrong type, so it can run on a document that also failed the schema; the schema
 * reports those.
 */

/** The runtime-spec versions runts implements: 1.0.0 up to any 1.3.x. */
const MAX_MINOR = 3;
const SEMVER = /^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;
/** statfs(2) f_type of the nsfs filesystem of namespace files. */
const NSFS_MAGIC = 0x6e736673;
const OTHER_PLATFORMS: Record<string, string> = {
  windows: 'Windows',
  solaris: 'Solaris',
  vm: 'virtual-machine',
  zos: 'z/OS',
  freebsd: 'FreeBSD',
};
const CAPABILITY_SETS = ['bounding', 'effective', 'inheritable', 'permitted', 'ambient'] as const;
const HOOK_KINDS = ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'] as const;
const ERRNO_ACTIONS = new Set(['SCMP_ACT_ERRNO', 'SCMP_ACT_TRACE']);
const TIME_CLOCKS = ['monotonic', 'boottime'];
/** Memory policies that need a node list, and those that take none (set_mempolicy(2)). */
const MPOL_NEEDS_NODES = new Set(['MPOL_BIND', 'MPOL_INTERLEAVE', 'MPOL_WEIGHTED_INTERLEAVE', 'MPOL_PREFERRED_MANY']);
const MPOL_NO_NODES = new Set(['MPOL_DEFAULT', 'MPOL_LOCAL']);
const IPC_SYSCTLS = new Set([
  'kernel.msgmax',
  'kernel.msgmnb',
  'kernel.msgmni',
  'kernel.sem',
  'kernel.shmall',
  'kernel.shmmax',
  'kernel.shmmni',
  'kernel.shm_rmid_forced',
]);

/** A user namespace map: at most 340 lines (UID_GID_MAP_MAX_EXTENTS), written in one write of under a page. */
const MAX_MAP_LINES = 340;
const MAX_MAP_BYTES = 4095;
/** The highest id plus one: a range must end at or below it ((u32)-1 is no id). */
const ID_END = 4294967295;
/** sethostname(2) and setdomainname(2) take at most 64 bytes. */
const MAX_UTS_NAME = 64;
/** PATH_MAX less the terminating NUL. */
const MAX_PATH = 4095;
/** MAX_ARG_STRLEN less the terminating NUL: the longest argument or variable execve(2) passes. */
const MAX_ARG = MAX_ARG_STRLEN - 1;
/** fs.mount-max when /proc does not say: the mounts one mount namespace may hold. */
const DEFAULT_MOUNT_MAX = 100000;

type Loose = Record<string, unknown>;
type Add = (path: string, message: string) => void;

function isObj(v: unknown): v is Loose {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

function show(v: unknown): string {
  return JSON.stringify(v);
}

/** The namespace a sysctl key belongs to, when the kernel scopes it to one. */
function sysctlNamespace(key: string): 'ipc' | 'network' | 'uts' | undefined {
  if (IPC_SYSCTLS.has(key) || key.startsWith('fs.mqueue.')) return 'ipc';
  if (key.startsWith('net.')) return 'network';
  if (key === 'kernel.hostname' || key === 'kernel.domainname') return 'uts';
  return undefined;
}

export function checkConfigSemantics(config: Spec, bundleDir: string): Problem[] {
  const problems: Problem[] = [];
  const add = (path: string, message: string) => problems.push({ path, message });
  const doc = config as unknown as Loose;
  const linux = isObj(doc.linux) ? doc.linux : undefined;

  checkVersion(doc.ociVersion, add);
  checkRoot(doc.root, bundleDir, add);

  if (!linux) add('linux', 'missing (required on linux)');
  for (const [key, name] of Object.entries(OTHER_PLATFORMS)) {
    if (doc[key] !== undefined) add(key, `a ${name} section cannot be honoured by a linux runtime`);
  }

  // Namespaces: requested types, and which of them are new rather than joined.
  const seenNs = new Map<string, string>();
  const newNs = new Set<string>();
  list(linux?.namespaces).forEach((ns, i) => {
    if (!isObj(ns) || typeof ns.type !== 'string') return;
    const at = `linux.namespaces[${i}]`;
    const first = seenNs.get(ns.type);
    if (first) add(`${at}.type`, `duplicate namespace type ${show(ns.type)} (also ${first})`);
    else seenNs.set(ns.type, at);
    if (typeof ns.path !== 'string') {
      newNs.add(ns.type);
      return;
    }
    if (!isAbsolute(ns.path)) {
      add(`${at}.path`, `${show(ns.path)} must be an absolute path`);
      return;
    }
    let magic: number;
    try {
      magic = statfsSync(ns.path).type;
    } catch {
      add(`${at}.path`, `${ns.path} does not exist`);
      return;
    }
    if (magic !== NSFS_MAGIC) add(`${at}.path`, `${ns.path} is not a namespace file`);
  });

  for (const key of ['uidMappings', 'gidMappings']) {
    const present = list(linux?.[key]).length > 0;
    if (newNs.has('user') && !present) add(`linux.${key}`, 'missing (required with a new user namespace)');
    if (!newNs.has('user') && present) {
      add(
        `linux.${key}`,
        'only allowed with a new user namespace (a linux.namespaces entry of type user without path)',
      );
    }
  }

  checkHostname(doc, seenNs, add);

  if (isObj(doc.process)) checkProcess(doc.process, add);

  if (isObj(doc.hooks)) {
    for (const kind of HOOK_KINDS) {
      list(doc.hooks[kind]).forEach((h, i) => {
        if (isObj(h) && typeof h.path === 'string' && !isAbsolute(h.path)) {
          add(`hooks.${kind}[${i}].path`, `${show(h.path)} must be an absolute path`);
        }
      });
    }
  }

  const userNs = seenNs.has('user');
  list(doc.mounts).forEach((m, i) => {
    if (!isObj(m)) return;
    const idmap = list(m.options).find((o) => o === 'idmap' || o === 'ridmap');
    if (idmap && m.uidMappings === undefined && m.gidMappings === undefined && !userNs) {
      add(`mounts[${i}].options`, `${idmap} needs the mount's uidMappings and gidMappings, or a user namespace`);
    }
  });

  if (linux) checkLinux(linux, seenNs, newNs, add);
  if (linux) checkPathsWithoutMountNamespace(linux, seenNs, add);
  checkNulBytes(doc, add);
  checkLengths(doc, add, problems);
  for (const key of ['uidMappings', 'gidMappings']) {
    if (linux) checkIdMappings(linux[key], `linux.${key}`, add);
    list(doc.mounts).forEach((m, i) => {
      if (isObj(m)) checkIdMappings(m[key], `mounts[${i}].${key}`, add);
    });
  }
  return problems;
}

/**
 * Every string that reaches a system call is a C string there: a NUL byte would cut it
 * short without a word. Annotations are exempt: they only go to hooks inside JSON.
 */
function checkNulBytes(doc: Loose, add: Add): void {
  const { annotations: _, ...rest } = doc;
  const stack: [unknown, string][] = [[rest, '']];
  while (stack.length > 0) {
    const [v, at] = stack.pop()!;
    if (typeof v === 'string') {
      if (v.includes('\0')) add(at, 'contains a NUL byte');
    } else if (Array.isArray(v)) {
      v.forEach((item, i) => stack.push([item, `${at}[${i}]`]));
    } else if (isObj(v)) {
      for (const [k, item] of Object.entries(v)) {
        if (k.includes('\0')) add(at, `the key ${show(k)} contains a NUL byte`);
        else stack.push([item, joinPath(at, k)]);
      }
    }
  }
}

function byteLength(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** Strings longer than the kernel takes, which would fail only at the system call. */
function checkLengths(doc: Loose, add: Add, problems: Problem[]): void {
  const atMost = (v: unknown, at: string, max: number, what: string) => {
    if (typeof v === 'string' && byteLength(v) > max) add(at, `${byteLength(v)} bytes long: ${what} is at most ${max}`);
  };
  for (const key of ['hostname', 'domainname']) atMost(doc[key], key, MAX_UTS_NAME, `a ${key}`);
  if (isObj(doc.root)) atMost(doc.root.path, 'root.path', MAX_PATH, 'a path');
  if (isObj(doc.process)) {
    const proc = doc.process;
    atMost(proc.cwd, 'process.cwd', MAX_PATH, 'a path');
    const before = problems.length;
    for (const key of ['args', 'env']) {
      list(proc[key]).forEach((v, i) => atMost(v, `process.${key}[${i}]`, MAX_ARG, 'an execve(2) argument'));
    }
    // the whole only when each string fits: one complaint per cause
    const whole = problems.length === before ? execArgumentsProblem(proc) : undefined;
    if (whole) add(whole.path, whole.message);
  }
  const mounts = list(doc.mounts);
  mounts.forEach((m, i) => {
    if (!isObj(m)) return;
    atMost(m.destination, `mounts[${i}].destination`, MAX_PATH, 'a path');
    atMost(m.source, `mounts[${i}].source`, MAX_PATH, 'a path');
  });
  const mountMax = readMountMax();
  if (mounts.length > mountMax) {
    add('mounts', `${mounts.length} entries: a mount namespace holds at most ${mountMax} mounts (fs.mount-max)`);
  }
  if (isObj(doc.hooks)) {
    for (const kind of HOOK_KINDS) {
      list(doc.hooks[kind]).forEach((h, i) => {
        if (isObj(h)) atMost(h.path, `hooks.${kind}[${i}].path`, MAX_PATH, 'a path');
      });
    }
  }
  const linux = isObj(doc.linux) ? doc.linux : undefined;
  if (!linux) return;
  for (const key of ['maskedPaths', 'readonlyPaths']) {
    list(linux[key]).forEach((p, i) => atMost(p, `linux.${key}[${i}]`, MAX_PATH, 'a path'));
  }
  list(linux.devices).forEach((d, i) => {
    if (isObj(d)) atMost(d.path, `linux.devices[${i}].path`, MAX_PATH, 'a path');
  });
  list(linux.namespaces).forEach((n, i) => {
    if (isObj(n)) atMost(n.path, `linux.namespaces[${i}].path`, MAX_PATH, 'a path');
  });
}

function readMountMax(): number {
  try {
    const n = Number.parseInt(readFileSync('/proc/sys/fs/mount-max', 'utf8'), 10);
    return Number.isSafeInteger(n) && n > 0 ? n : DEFAULT_MOUNT_MAX;
  } catch {
    return DEFAULT_MOUNT_MAX;
  }
}

/**
 * A uid or gid map as the kernel takes it (map_write in kernel/user_namespace.c): every
 * range ends at or below (u32)-1, no two ranges overlap on either side, at most 340
 * lines in under a page. Otherwise the write of the map fails.
 */
function checkIdMappings(mappings: unknown, at: string, add: Add): void {
  const ranges = list(mappings);
  if (ranges.length > MAX_MAP_LINES) {
    add(at, `${ranges.length} entries: a user namespace map holds at most ${MAX_MAP_LINES}`);
    return;
  }
  const isId = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
  const seen: { c: number; h: number; size: number; at: string }[] = [];
  let bytes = 0;
  ranges.forEach((m, i) => {
    if (!isObj(m) || !isId(m.containerID) || !isId(m.hostID) || !isId(m.size) || m.size < 1) return;
    const r = { c: m.containerID, h: m.hostID, size: m.size, at: `${at}[${i}]` };
    bytes += `${r.c} ${r.h} ${r.size}\n`.length;
    for (const [side, first] of [['containerID', r.c], ['hostID', r.h]] as const) {
      if (first + r.size > ID_END) {
        add(`${r.at}.size`, `${side} ${first} + size ${r.size} goes past ${ID_END - 1}, the highest id`);
      }
    }
    for (const o of seen) {
      if (r.c < o.c + o.size && o.c < r.c + r.size) {
        add(`${r.at}.containerID`, `container ids ${r.c}-${r.c + r.size - 1} overlap those of ${o.at}`);
      }
      if (r.h < o.h + o.size && o.h < r.h + r.size) {
        add(`${r.at}.hostID`, `host ids ${r.h}-${r.h + r.size - 1} overlap those of ${o.at}`);
      }
    }
    seen.push(r);
  });
  if (bytes > MAX_MAP_BYTES) add(at, `${bytes} bytes as a map: the kernel takes at most ${MAX_MAP_BYTES}`);
}

/**
 * hostname and domainname change the container's uts namespace: a new one, or one it
 * joins by path (runtime-spec: "a UTS namespace"), never the runtime's own.
 */
function checkHostname(doc: Loose, seenNs: Map<string, string>, add: Add): void {
  for (const key of ['hostname', 'domainname']) {
    if (typeof doc[key] === 'string' && doc[key] !== '' && !seenNs.has('uts')) {
      add(key, 'needs a uts namespace of the container (a linux.namespaces entry of type uts)');
    }
  }
}

/**
 * Without a mount namespace the container shares the runtime's mounts: masking a path
 * would mask it for the host. runc refuses that config too.
 */
function checkPathsWithoutMountNamespace(linux: Loose, seenNs: Map<string, string>, add: Add): void {
  if (seenNs.has('mount')) return;
  for (const key of ['maskedPaths', 'readonlyPaths']) {
    if (list(linux[key]).length > 0) {
      add(`linux.${key}`, 'unable to restrict sys entries without a mount namespace of the container (a linux.namespaces entry of type mount)');
    }
  }
}

function checkVersion(v: unknown, add: (path: string, message: string) => void): void {
  if (typeof v !== 'string') return;
  const m = SEMVER.exec(v);
  if (!m) {
    add('ociVersion', `${show(v)} is not a SemVer version such as 1.3.0`);
    return;
  }
  if (Number(m[1]) !== 1 || Number(m[2]) > MAX_MINOR) {
    add('ociVersion', `${v} is not supported; runts implements 1.0.0 up to 1.${MAX_MINOR}.x`);
  }
}

function checkRoot(root: unknown, bundleDir: string, add: (path: string, message: string) => void): void {
  if (!isObj(root) || typeof root.path !== 'string' || root.path === '') return;
  const full = resolve(bundleDir, root.path);
  const shown = full === root.path ? show(root.path) : `${show(root.path)} (${full})`;
  try {
    if (!statSync(full).isDirectory()) add('root.path', `${shown} is not a directory`);
  } catch {
    add('root.path', `${shown} does not exist`);
  }
}

function checkProcess(proc: Loose, add: (path: string, message: string) => void): void {
  if (proc.args === undefined) add('process.args', 'missing (required)');
  else if (Array.isArray(proc.args) && proc.args.length === 0) add('process.args', 'must not be empty');
  if (typeof proc.cwd === 'string' && !isAbsolute(proc.cwd)) {
    add('process.cwd', `${show(proc.cwd)} must be an absolute path`);
  }

  const seen = new Map<string, string>();
  list(proc.rlimits).forEach((r, i) => {
    if (!isObj(r)) return;
    const at = `process.rlimits[${i}]`;
    if (typeof r.type === 'string') {
      if (!Object.hasOwn(RLIMITS, r.type)) {
        add(
          `${at}.type`,
          `${show(r.type)} is not a linux resource limit; expected one of ${Object.keys(RLIMITS).join(', ')}`,
        );
      } else if (seen.has(r.type)) {
        add(`${at}.type`, `duplicate ${r.type} (also ${seen.get(r.type)})`);
      } else {
        seen.set(r.type, at);
      }
    }
    if (typeof r.soft === 'number' && typeof r.hard === 'number' && r.soft > r.hard) {
      add(`${at}.soft`, `${r.soft} exceeds the hard limit ${r.hard}`);
    }
  });

  const caps = proc.capabilities;
  if (isObj(caps)) {
    for (const set of CAPABILITY_SETS) {
      list(caps[set]).forEach((c, i) => {
        if (typeof c === 'string' && !CAPABILITIES.includes(c)) {
          add(
            `process.capabilities.${set}[${i}]`,
            `${show(c)} is not a linux capability (CAP_CHOWN ... CAP_CHECKPOINT_RESTORE)`,
          );
        }
      });
    }
  }
}

function checkLinux(
  linux: Loose,
  seenNs: Map<string, string>,
  newNs: Set<string>,
  add: (path: string, message: string) => void,
): void {
  for (const key of ['maskedPaths', 'readonlyPaths']) {
    list(linux[key]).forEach((p, i) => {
      if (typeof p === 'string' && !isAbsolute(p)) add(`linux.${key}[${i}]`, `${show(p)} must be an absolute path`);
    });
  }
  list(linux.devices).forEach((d, i) => {
    if (isObj(d) && typeof d.path === 'string' && !isAbsolute(d.path)) {
      add(`linux.devices[${i}].path`, `${show(d.path)} must be an absolute path`);
    }
  });

  if (isObj(linux.timeOffsets)) {
    if (!newNs.has('time')) {
      add('linux.timeOffsets', 'needs a new time namespace (a linux.namespaces entry of type time without path)');
    }
    for (const clock of Object.keys(linux.timeOffsets)) {
      if (!TIME_CLOCKS.includes(clock)) {
        add(
          joinPath('linux.timeOffsets', clock),
          `${show(clock)} is not a clock a time namespace offsets; expected monotonic or boottime`,
        );
      }
    }
  }

  if (isObj(linux.sysctl)) {
    for (const key of Object.keys(linux.sysctl)) {
      const ns = sysctlNamespace(key);
      const at = joinPath('linux.sysctl', key);
      if (!ns) add(at, 'is not a namespaced sysctl: setting it would change the host');
      else if (!seenNs.has(ns)) add(at, `needs a ${ns} namespace of the container (linux.namespaces)`);
    }
  }

  if (isObj(linux.netDevices) && Object.keys(linux.netDevices).length > 0 && !seenNs.has('network')) {
    add('linux.netDevices', 'needs a network namespace of the container (linux.namespaces)');
  }

  const seccomp = linux.seccomp;
  if (isObj(seccomp)) {
    if (seccomp.defaultErrnoRet !== undefined && !ERRNO_ACTIONS.has(String(seccomp.defaultAction))) {
      add(
        'linux.seccomp.defaultErrnoRet',
        `only allowed with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not ${String(seccomp.defaultAction)}`,
      );
    }
    let notify = seccomp.defaultAction === 'SCMP_ACT_NOTIFY';
    list(seccomp.syscalls).forEach((s, i) => {
      if (!isObj(s)) return;
      if (s.action === 'SCMP_ACT_NOTIFY') notify = true;
      if (s.errnoRet !== undefined && !ERRNO_ACTIONS.has(String(s.action))) {
        add(
          `linux.seccomp.syscalls[${i}].errnoRet`,
          `only allowed with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not ${String(s.action)}`,
        );
      }
    });
    if (notify && seccomp.listenerPath === undefined) {
      add('linux.seccomp.listenerPath', 'missing (required with SCMP_ACT_NOTIFY)');
    }
  }

  const resources = linux.resources;
  const cpu = isObj(resources) ? resources.cpu : undefined;
  if (
    isObj(cpu) &&
    typeof cpu.burst === 'number' &&
    typeof cpu.quota === 'number' &&
    cpu.quota > 0 &&
    cpu.burst > cpu.quota
  ) {
    add('linux.resources.cpu.burst', `${cpu.burst} exceeds the quota ${cpu.quota}`);
  }

  const policy = linux.memoryPolicy;
  if (isObj(policy) && typeof policy.mode === 'string') {
    const hasNodes = typeof policy.nodes === 'string' && policy.nodes !== '';
    if (MPOL_NEEDS_NODES.has(policy.mode) && !hasNodes) {
      add('linux.memoryPolicy.nodes', `missing (required with ${policy.mode})`);
    }
    if (MPOL_NO_NODES.has(policy.mode) && hasNodes) add('linux.memoryPolicy.nodes', `not allowed with ${policy.mode}`);
  }

  if (isObj(linux.personality) && list(linux.personality.flags).length > 0) {
    add('linux.personality.flags', 'no personality flags are supported');
  }
}
