import { closeSync, existsSync, openSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, posix, resolve } from 'node:path';
import type { Mount, Spec } from '../spec/types/config.js';
import { RuntsError } from '../errors.js';
import { mountAttr, parseMountOptions, perMountAttributes, type MountOptions } from './mount-options.js';
import { hasNamespace, inMountNamespaceOf } from './namespaces.js';
import type { Emitter } from '../program/emit.js';
import { MSG_MOUNT_SOURCES, RECORD_BYTES } from '../program/protocol.js';
import { libc } from '../sys/libc.js';
import { rightsMessage, sendWithFds } from '../sys/scm.js';
import {
  AT_EMPTY_PATH, AT_FDCWD, AT_RECURSIVE, CLONE_NEWNS, MNT_DETACH, MOUNT_ATTR_RDONLY, MOUNT_ATTR_SIZE_VER0, MOVE_MOUNT_F_EMPTY_PATH,
  MOVE_MOUNT_T_EMPTY_PATH, MS_BIND, MS_MOVE, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_PRIVATE, MS_RDONLY, MS_REC, MS_REMOUNT,
  MS_SHARED, MS_SLAVE, MS_UNBINDABLE, MSG_CMSG_CLOEXEC, O_CLOEXEC, O_DIRECTORY, O_PATH, O_RDONLY,
} from '../sys/constants.js';
import { EBUSY, EEXIST, EINVAL, ENOENT, EPERM } from '../sys/errno.js';

/**
 * The container's mount namespace: the rootfs bind-mounted onto itself, the config's
 * mounts in order, then pivot_root (or MS_MOVE + chroot with --no-pivot).
 */

const PROPAGATION: Record<string, number> = {
  shared: MS_SHARED, slave: MS_SLAVE, private: MS_PRIVATE, unbindable: MS_UNBINDABLE,
  rshared: MS_SHARED | MS_REC, rslave: MS_SLAVE | MS_REC, rprivate: MS_PRIVATE | MS_REC,
  runbindable: MS_UNBINDABLE | MS_REC,
};

/** Slave by default, like runc: host mount events reach the container, none go back. */
const DEFAULT_ROOT_PROPAGATION = MS_SLAVE | MS_REC;

/** What runc gives the tmpfs and hierarchies of a cgroup v1 mount. */
const CGROUP_FLAGS = MS_NOSUID | MS_NODEV | MS_NOEXEC;

export function rootfsPath(spec: Spec, bundle: string): string {
  return isAbsolute(spec.root.path) ? spec.root.path : resolve(bundle, spec.root.path);
}

/**
 * linux.mountLabel is an SELinux context for the container's mounts: on a host without
 * SELinux the kernel cannot apply it, which create reports rather than ignoring it.
 */
export function checkMountLabel(spec: Spec): void {
  if (spec.linux?.mountLabel && !existsSync('/sys/fs/selinux/enforce')) {
    throw new RuntsError('selinux is not enabled on this host: a mount label cannot be applied', { configPath: 'linux.mountLabel' });
  }
}

/** mount(2) data with the SELinux context of linux.mountLabel added, as runc formats it. */
export function labelData(data: string, label: string | undefined): string {
  if (!label) return data;
  const context = `context=${JSON.stringify(label)}`;
  return data ? `${data},${context}` : context;
}

/** Filesystems runc mounts without a context= option: the kernel labels their files itself. */
const UNLABELED = new Set(['proc', 'sysfs', 'cgroup', 'cgroup2', 'mqueue']);

/** Whether a bind mount's source is a file (the destination must then be a file too). */
function bindSourceIsFile(source: string): boolean {
  try {
    return !statSync(source).isDirectory();
  } catch {
    return false;
  }
}

export function bindSource(m: Mount, bundle: string): string {
  const source = m.source ?? '';
  return isAbsolute(source) ? source : resolve(bundle, source);
}

function rootPropagation(spec: Spec): number {
  const propagation = spec.linux?.rootfsPropagation;
  return propagation ? PROPAGATION[propagation] ?? DEFAULT_ROOT_PROPAGATION : DEFAULT_ROOT_PROPAGATION;
}

/** The directories from `path` up to / , `path` first. */
function selfAndParents(path: string): string[] {
  const dirs = [posix.normalize(path)];
  while (dirs[dirs.length - 1] !== '/') dirs.push(posix.dirname(dirs[dirs.length - 1]));
  return dirs;
}

/** Makes the host's mounts invisible to the container's and opens the rootfs as `root`. */
export function emitPrepareRoot(e: Emitter, spec: Spec, rootfs: string): void {
  checkMountLabel(spec);
  const p = e.p;
  const bind = { what: `bind mount rootfs ${rootfs} onto itself`, configPath: 'root.path' };
  if (!hasNamespace(spec.linux?.namespaces, 'mount')) {
    // The host's own mounts: their propagation is not the container's to change. As with
    // runc, the rootfs and the config's mounts stay on the host after the container.
    e.mount(e.str(rootfs), e.str(rootfs), null, MS_BIND | MS_REC, null, bind);
    p.sys('openat', [AT_FDCWD, e.str(rootfs), O_PATH | O_DIRECTORY | O_CLOEXEC], { what: `open rootfs ${rootfs}`, configPath: 'root.path' }, { save: e.root });
    return;
  }
  const rootFlags = rootPropagation(spec);
  const configPath = spec.linux?.rootfsPropagation ? 'linux.rootfsPropagation' : undefined;
  e.mount(null, e.str('/'), null, rootFlags, null, { what: 'set the propagation of /', configPath });

  // The mount the rootfs lies on must not be shared: the bind mount below would
  // propagate to the host's peers of it, and pivot_root refuses a shared parent. It stays
  // a slave when / was made one, so host mount events still reach the rootfs. The first
  // directory from the rootfs up where mount(2) does not answer EINVAL is that mount.
  const parentFlags = rootFlags & MS_SLAVE ? MS_SLAVE : MS_PRIVATE;
  const parentStep = { what: `make the mount of rootfs ${rootfs} ${parentFlags === MS_SLAVE ? 'a slave' : 'private'}`, configPath: 'root.path' };
  const result = p.reg('parentmount');
  const found = p.label('rootfs parent mount');
  for (const dir of selfAndParents(rootfs).slice(0, -1)) {
    e.mount(null, e.str(dir), null, parentFlags, null, parentStep, { tolerate: [EINVAL], save: result });
    p.jumpIfZero(result, found);
  }
  e.mount(null, e.str('/'), null, parentFlags, null, parentStep);
  p.place(found);

  e.mount(e.str(rootfs), e.str(rootfs), null, MS_BIND | MS_REC, null, bind);
  p.sys('openat', [AT_FDCWD, e.str(rootfs), O_PATH | O_DIRECTORY | O_CLOEXEC], { what: `open rootfs ${rootfs}`, configPath: 'root.path' }, { save: e.root });
}

/** What the runtime prepared on the host for the config's mounts. */
export interface MountsFromHost {
  /** The container's cgroups, one per hierarchy: a cgroup mount without a cgroup namespace binds them. */
  cgroupDirs?: readonly string[];
  /**
   * Detached mounts the runtime made, by index in mounts[]: id-mapped binds (idmap.ts) and
   * tmpfs holding the rootfs's files (tmpcopyup.ts). The init inherits them and moves
   * each into place.
   */
  detached?: ReadonlyMap<number, number>;
  /** Bind sources the runtime opens for a container in a user namespace (see MountSources). */
  sources?: MountSources;
  /** The host's cgroup layout, read only when a cgroup mount needs it (the unit tests pass a fake one). */
  cgroupLayout?: () => CgroupLayout;
  /** The runtime runs in a user namespace of its own (rootless Podman's): the container is in one too. */
  runtimeInUserNamespace?: boolean;
}

/**
 * The bind sources of a container in a user namespace. Its init is root only in its own
 * user namespace: a source below a directory only the host's root may search is out of
 * its reach. So, as runc does, the init asks for them once it is in its mount namespace;
 * the runtime opens each source (O_PATH) in that namespace, where the init may bind it,
 * and sends the fds; the init binds them through /proc/self/fd.
 */
export interface MountSources {
  /** The init's end of the socket to the runtime. */
  socket: number;
  /** The free fd number each source is kept at, by index in mounts[]. */
  fds: ReadonlyMap<number, number>;
}

/** The most fds one SCM_RIGHTS message carries (the kernel's SCM_MAX_FD). */
const MAX_SOURCES = 253;

/** The mounts that bind a source: not the id-mapped ones (made by the runtime) nor remounts. */
export function bindSourceMounts(spec: Spec): number[] {
  const indexes: number[] = [];
  (spec.mounts ?? []).forEach((m, i) => {
    const o = parseMountOptions(m.options);
    if (m.type === 'cgroup' || !isBindMount(m, o) || o.flags & MS_REMOUNT) return;
    if (o.idmap !== 'none' || m.uidMappings || m.gidMappings) return;
    indexes.push(i);
  });
  if (indexes.length > MAX_SOURCES) {
    throw new RuntsError(`more than ${MAX_SOURCES} bind mounts in a user namespace`, { configPath: 'mounts' });
  }
  return indexes;
}

function emitReceiveSources(e: Emitter, sources: MountSources): void {
  const p = e.p;
  const step = { what: 'receive the bind sources from the runtime', configPath: 'mounts' };
  const { msghdr, iovec, control: controlBytes } = rightsMessage(sources.fds.size);
  const control = p.bytes(controlBytes);
  const msg = p.struct(msghdr, [{ at: 16, to: p.struct(iovec, [{ at: 0, to: p.bytes(8) }]) }, { at: 32, to: control }]);
  const ask = Buffer.alloc(RECORD_BYTES);
  ask.writeInt32LE(MSG_MOUNT_SOURCES, 0);
  p.sys('write', [sources.socket, p.bytes(ask), RECORD_BYTES], step);
  p.sys('recvmsg', [sources.socket, msg, MSG_CMSG_CLOEXEC], step, { nonzero: true });
  const fd = p.reg('source');
  [...sources.fds.values()].forEach((at, k) => {
    // the fds follow the 16-byte cmsghdr
    p.load32(fd, control, 4 + k);
    p.sys('dup3', [fd, at, O_CLOEXEC], step);
    p.sys('close', [fd], step);
  });
}

/**
 * The runtime's side of MountSources: opens the sources in the mount namespace of the
 * init (`pid`) and sends them over `socket`.
 */
export function sendMountSources(socket: number, pid: number, spec: Spec, bundle: string): void {
  const indexes = bindSourceMounts(spec);
  const fds: number[] = [];
  try {
    inMountNamespaceOf(pid, 'open the bind sources', () => {
      for (const i of indexes) {
        const source = bindSource(spec.mounts![i], bundle);
        try {
          fds.push(openSync(source, O_PATH | O_CLOEXEC));
        } catch (err) {
          throw RuntsError.fromNode(`open bind source ${source}`, err, `mounts[${i}].source`);
        }
      }
    });
    if (sendWithFds(socket, Buffer.from([1]), fds) < 0) {
      throw new RuntsError('send the bind sources to the container', { errno: libc().errno() });
    }
  } finally {
    for (const fd of fds) closeSync(fd);
  }
}

/** The config's mounts, in order. */
export function emitMounts(e: Emitter, spec: Spec, bundle: string, host: MountsFromHost = {}): void {
  const label = spec.linux?.mountLabel;
  let cgroups: CgroupLayout | undefined;
  if (host.sources?.fds.size) emitReceiveSources(e, host.sources);
  (spec.mounts ?? []).forEach((m, i) => {
    if (m.type === 'cgroup') {
      cgroups ??= (host.cgroupLayout ?? hostCgroupLayout)();
      const cgroupNs = hasNamespace(spec.linux?.namespaces, 'cgroup');
      const inUserNs = hasNamespace(spec.linux?.namespaces, 'user') || host.runtimeInUserNamespace === true;
      emitCgroupMount(e, m, i, bundle, cgroups, host.cgroupDirs ?? [], cgroupNs, label, inUserNs);
    } else {
      emitMount(e, sysfsBound(spec, m), i, bundle, label, { detached: host.detached?.get(i), source: host.sources?.fds.get(i) });
    }
  });
}

/**
 * The kernel mounts a sysfs only for a user namespace that owns the network namespace. A
 * container in a user namespace of its own that keeps the host's network namespace (the
 * rootless case) gets the host's /sys bound instead, with the mount's options, as crun
 * does; `runts spec --rootless` writes that bind itself, as runc's does.
 */
function sysfsBound(spec: Spec, m: Mount): Mount {
  const ns = spec.linux?.namespaces;
  if (m.type !== 'sysfs' || !hasNamespace(ns, 'user') || hasNamespace(ns, 'network')) return m;
  return { destination: m.destination, type: 'none', source: '/sys', options: ['rbind', ...(m.options ?? [])] };
}

function isBindMount(m: Mount, o: MountOptions): boolean {
  return (o.flags & MS_BIND) !== 0 || m.type === 'bind';
}

/** Whether /dev is mounted read-only: it is then made read-only after its devices are made. */
function devReadonly(m: Mount, o: MountOptions): boolean {
  return posix.normalize(m.destination) === '/dev' && (o.flags & MS_RDONLY) !== 0 && !isBindMount(m, o);
}

/** What the runtime made or opened for one mount: a detached mount to move into place, or the bind source. */
interface PreparedMount {
  detached?: number;
  source?: number;
}

function emitMount(
  e: Emitter, m: Mount, i: number, bundle: string, label: string | undefined, prepared: PreparedMount = {},
  o: MountOptions = parseMountOptions(m.options),
): void {
  const { detached } = prepared;
  const configPath = `mounts[${i}]`;
  if (detached === undefined && (o.idmap !== 'none' || m.uidMappings || m.gidMappings)) {
    throw new RuntsError('the id-mapped mount was not prepared by the runtime', { configPath });
  }
  if (detached === undefined && o.tmpcopyup && m.type === 'tmpfs') {
    throw new RuntsError('the tmpcopyup tmpfs was not prepared by the runtime', { configPath });
  }
  const isBind = isBindMount(m, o);
  const dest = m.destination;
  const step = { what: `mount ${m.type ?? 'bind'} ${m.source ?? ''} on ${dest}`, configPath };
  const source = isBind ? bindSource(m, bundle) : m.source ?? m.type ?? 'none';
  // "bind" with "remount" changes the options of the mount already at the destination.
  if (!(isBind && o.flags & MS_REMOUNT)) {
    const asFile = isBind && bindSourceIsFile(source);
    e.mkdirAll(dest, { what: `create mount point ${dest}`, configPath }, 0o755, asFile);
    e.openInRoot(dest, 0, e.tmp, { what: `open mount point ${dest}`, configPath });
    e.toScratch(e.tmp, step);
    if (detached !== undefined) {
      e.p.sys('move_mount', [detached, e.str(''), e.scratchFd, e.str(''), MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH], step);
      e.p.sys('close', [detached], step);
    } else if (isBind) {
      // A bind mount ignores every flag but MS_REC: the others take a remount below.
      const from = prepared.source === undefined ? source : `/proc/self/fd/${prepared.source}`;
      e.mount(e.str(from), e.scratchPath, null, o.flags & (MS_BIND | MS_REC) | MS_BIND, null, step);
      if (prepared.source !== undefined) e.p.sys('close', [prepared.source], step);
    } else {
      const flags = devReadonly(m, o) ? o.flags & ~MS_RDONLY : o.flags;
      const data = m.type && UNLABELED.has(m.type) ? o.data : labelData(o.data, label);
      e.mount(e.str(source), e.scratchPath, m.type ?? null, flags, data, step);
    }
    e.closeScratch(step);
  }
  const remount = isBind && ((o.flags & ~(MS_BIND | MS_REC | MS_REMOUNT)) !== 0 || o.clearFlags !== 0);
  emitMountAttributes(e, dest, configPath, o, remount);
}

/**
 * What is set on a mount once it is in place: a bind mount's own options, propagation,
 * and the recursive options. The destination is opened again, to reach the new mount
 * rather than the directory under it.
 */
function emitMountAttributes(e: Emitter, dest: string, configPath: string, o: MountOptions, remount: boolean): void {
  const recursive = o.recursiveSet !== 0 || o.recursiveClear !== 0;
  if (!remount && !recursive && o.propagation.length === 0) return;
  const p = e.p;
  const step = { what: `set the options of ${dest}`, configPath };
  e.openInRoot(dest, 0, e.tmp, { what: `open mount ${dest}`, configPath });
  e.toScratch(e.tmp, step);
  if (remount) {
    // As runc does: the options given, and no others (mount(8)'s "--bind -o"). A user
    // namespace may not clear flags locked by the host (nosuid, nodev, noexec, ro,
    // atime); there mount_setattr(2) changes only what the options name, and fails only
    // if they clear a locked flag.
    const result = p.reg('remount');
    const done = p.label(`options of ${dest} set`);
    const flags = (o.flags & ~(MS_REC | MS_REMOUNT)) | MS_BIND | MS_REMOUNT;
    e.mount(null, e.scratchPath, null, flags, null, { what: `remount ${dest} with its options`, configPath }, { tolerate: [EPERM], save: result });
    p.jumpIfZero(result, done);
    const { set, clear } = perMountAttributes(o);
    p.sys('mount_setattr', [e.scratchFd, e.str(''), AT_EMPTY_PATH, p.bytes(mountAttr(set, clear)), MOUNT_ATTR_SIZE_VER0],
      { what: `set the options of ${dest} keeping those locked by the host`, configPath });
    p.place(done);
  }
  for (const flag of o.propagation) {
    e.mount(null, e.scratchPath, null, flag, null, { what: `set propagation of ${dest}`, configPath });
  }
  if (recursive) {
    p.sys('mount_setattr', [e.scratchFd, e.str(''), AT_EMPTY_PATH | AT_RECURSIVE, p.bytes(mountAttr(o.recursiveSet, o.recursiveClear)), MOUNT_ATTR_SIZE_VER0],
      { what: `set the recursive options of ${dest}`, configPath });
  }
  e.closeScratch(step);
}

/** One cgroup hierarchy of the host, as a container mounts it. */
export interface CgroupHierarchy {
  /** The directory under the cgroup mount: "cpu,cpuacct", "systemd", "unified". */
  name: string;
  fstype: 'cgroup' | 'cgroup2';
  /** The options that select the hierarchy: its controllers, or name=. */
  data: string;
}

export interface CgroupLayout {
  /** cgroup2 is mounted at /sys/fs/cgroup. */
  v2: boolean;
  /** The v1 hierarchies under /sys/fs/cgroup (with cgroup2 as "unified" on a hybrid host). */
  hierarchies: CgroupHierarchy[];
}

const CGROUP_ROOT = '/sys/fs/cgroup';

/** mountinfo escapes space, tab, newline and backslash as octal. */
function unescapeMountinfo(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/**
 * The host's cgroup layout from a mountinfo text and the v1 controller names
 * (/proc/cgroups): which hierarchies a cgroup mount of a container shows.
 */
export function cgroupLayout(mountinfo: string, controllers: readonly string[]): CgroupLayout {
  const known = new Set(controllers);
  const hierarchies = new Map<string, CgroupHierarchy>();
  let v2 = false;
  for (const line of mountinfo.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const mountpoint = unescapeMountinfo(line.slice(0, sep).split(' ')[4] ?? '');
    const [fstype, , superOptions = ''] = line.slice(sep + 3).split(' ');
    if (fstype !== 'cgroup' && fstype !== 'cgroup2') continue;
    if (mountpoint === CGROUP_ROOT && fstype === 'cgroup2') v2 = true;
    if (posix.dirname(mountpoint) !== CGROUP_ROOT) continue;
    const name = posix.basename(mountpoint);
    const data = fstype === 'cgroup'
      ? superOptions.split(',').filter((opt) => known.has(opt) || opt.startsWith('name=')).join(',')
      : '';
    if (!hierarchies.has(name)) hierarchies.set(name, { name, fstype, data });
  }
  return { v2, hierarchies: v2 ? [] : [...hierarchies.values()] };
}

function hostCgroupLayout(): CgroupLayout {
  const controllers = readFileSync('/proc/cgroups', 'utf8').split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split(/\s+/)[0]);
  return cgroupLayout(readFileSync('/proc/self/mountinfo', 'utf8'), controllers);
}

/**
 * cgroup2, or as runc falls back to when the kernel refuses it in a user namespace, the
 * container's cgroup bound: EBUSY where /sys is the host's bound (a rootless container's),
 * whose cgroup2 mount on /sys/fs/cgroup is the same filesystem at the same place; EPERM
 * where the user namespace does not own the cgroup namespace.
 */
function emitCgroup2OrBind(e: Emitter, m: Mount, o: MountOptions, configPath: string, bind: () => void): void {
  const p = e.p;
  const dest = m.destination;
  const step = { what: `mount cgroup2 ${m.source ?? ''} on ${dest}`, configPath };
  const result = p.reg('cgroup2');
  const mounted = p.label(`cgroup2 on ${dest}`);
  const done = p.label(`cgroup on ${dest}`);
  e.mkdirAll(dest, { what: `create mount point ${dest}`, configPath });
  e.openInRoot(dest, 0, e.tmp, { what: `open mount point ${dest}`, configPath });
  e.toScratch(e.tmp, step);
  e.mount(e.str(m.source ?? 'cgroup'), e.scratchPath, 'cgroup2', o.flags, o.data, step, { tolerate: [EPERM, EBUSY], save: result });
  e.closeScratch(step);
  p.jumpIfZero(result, mounted);
  bind();
  p.jump(done);
  p.place(mounted);
  emitMountAttributes(e, dest, configPath, o, false);
  p.place(done);
}

/**
 * A mount of type cgroup shows the container's cgroups, whichever version the host runs:
 * cgroup2 on a v2 host; on a v1 host, as runc does, a tmpfs with one mount per hierarchy
 * and a symlink per controller of a co-mounted one (cpu -> cpu,cpuacct). In a cgroup
 * namespace each hierarchy is mounted afresh, and the namespace scopes it to the
 * container's cgroup. Without one a fresh mount would show the host's whole tree, so
 * `cgroupDirs` (the container's cgroups on the host) are bound there instead.
 */
function emitCgroupMount(
  e: Emitter, m: Mount, i: number, bundle: string, layout: CgroupLayout, cgroupDirs: readonly string[], cgroupNs: boolean,
  label: string | undefined, inUserNs: boolean,
): void {
  const configPath = `mounts[${i}]`;
  const o = parseMountOptions(m.options);
  const bindDirs = cgroupNs ? undefined : cgroupDirs;
  if (layout.v2) {
    const dir = inUserNs ? cgroupDirs.find((d) => d === CGROUP_ROOT || d.startsWith(`${CGROUP_ROOT}/`)) : undefined;
    const bind = () => emitMount(e, { destination: m.destination, type: 'bind', source: dir }, i, bundle, label, {}, { ...o, flags: o.flags | MS_BIND | MS_REC });
    // The kernel mounts cgroup2 only for the user namespace owning the cgroup namespace:
    // in a user namespace without a cgroup namespace, the cgroup is bound, as runc does
    // when that mount fails; with one, it is bound where the kernel refuses the mount.
    if (dir && !cgroupNs) bind();
    else if (dir) emitCgroup2OrBind(e, m, o, configPath, bind);
    else emitMount(e, { ...m, type: 'cgroup2' }, i, bundle, label);
    return;
  }
  if (layout.hierarchies.length === 0) {
    throw new RuntsError('no cgroup hierarchy is mounted on this host under /sys/fs/cgroup', { configPath });
  }
  const dest = m.destination;
  const p = e.p;
  const tmpfsStep = { what: `mount tmpfs for cgroup hierarchies on ${dest}`, configPath };
  e.mkdirAll(dest, { what: `create mount point ${dest}`, configPath });
  e.openInRoot(dest, 0, e.tmp, tmpfsStep);
  e.toScratch(e.tmp, tmpfsStep);
  e.mount(e.str('tmpfs'), e.scratchPath, 'tmpfs', CGROUP_FLAGS, labelData('mode=755', label), tmpfsStep);
  e.closeScratch(tmpfsStep);

  const flags = (o.flags & ~(MS_BIND | MS_REC | MS_REMOUNT)) | CGROUP_FLAGS;
  for (const h of layout.hierarchies) {
    const at = posix.join(dest, h.name);
    if (bindDirs) {
      const mountPoint = posix.join(CGROUP_ROOT, h.name);
      const dir = bindDirs.find((d) => d === mountPoint || d.startsWith(`${mountPoint}/`));
      if (!dir) throw new RuntsError(`the container has no cgroup under ${mountPoint} to bind on ${at}`, { configPath });
      // As runc: a recursive bind with the hierarchies' flags, which emitMount applies by remounting.
      emitMount(e, { destination: at, type: 'bind', source: dir }, i, bundle, label, {}, { ...o, flags: flags | MS_BIND | MS_REC });
      continue;
    }
    const step = { what: `mount ${h.fstype} ${h.data} on ${at}`, configPath };
    e.mkdirAll(at, step);
    e.openInRoot(at, 0, e.tmp, step);
    e.toScratch(e.tmp, step);
    e.mount(e.str(h.fstype), e.scratchPath, h.fstype, flags, h.data, step);
    e.closeScratch(step);
  }
  const links = layout.hierarchies.filter((h) => h.name.includes(','));
  if (links.length) {
    const dir = p.reg('cgroupdir');
    const step = { what: `link co-mounted controllers in ${dest}`, configPath };
    e.openInRoot(dest, O_DIRECTORY, dir, step);
    for (const h of links) {
      for (const controller of h.name.split(',')) {
        p.sys('symlinkat', [e.str(h.name), dir, e.str(controller)], step, { tolerate: [EEXIST] });
      }
    }
    p.sys('close', [dir], step);
  }
  // The tmpfs stays writable until its directories and links are made.
  emitMountAttributes(e, dest, configPath, { ...o, flags: (o.flags & MS_RDONLY) | CGROUP_FLAGS, clearFlags: 0 }, (o.flags & MS_RDONLY) !== 0);
}

/**
 * The host's mounts of proc and sysfs that show a whole filesystem, outside the rootfs:
 * where a user namespace may mount a fresh proc or sysfs, the kernel lets it only if one
 * is already fully visible in its mount namespace, and with --no-pivot the host's stay
 * in it, under the rootfs.
 */
function revealingMounts(mountinfo: string, rootfs: string): { point: string; fstype: 'proc' | 'sysfs' }[] {
  const found: { point: string; fstype: 'proc' | 'sysfs' }[] = [];
  for (const line of mountinfo.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const fields = line.slice(0, sep).split(' ');
    const fstype = line.slice(sep + 3).split(' ')[0];
    const point = unescapeMountinfo(fields[4] ?? '');
    if ((fstype !== 'proc' && fstype !== 'sysfs') || fields[3] !== '/') continue;
    if (point === rootfs || point.startsWith(`${rootfs}/`)) continue;
    found.push({ point, fstype });
  }
  return found;
}

/**
 * With --no-pivot in a user namespace: the host's proc and sysfs mounts come into the
 * container's mount namespace locked, so the init can neither unmount them nor hide them
 * from the kernel's visibility check (a mount of its own over them is not locked). So
 * the intermediate process, still in the host's user namespace, first takes a mount
 * namespace of its own and covers a directory of each (proc's sys, sysfs's kernel) with
 * an empty tmpfs: the container's namespace, copied from it, gets the covers locked, and
 * a host mount with a locked cover is not fully visible. Only for a filesystem the
 * config does not mount itself: the init's own mount of it needs one fully visible, and
 * once there, it lets fresh ones in as it would after pivot_root.
 */
export function emitCoverRevealingMounts(
  e: Emitter, spec: Spec, rootfs: string, noPivot: boolean, userNamespace: boolean,
  mountinfo = () => readFileSync('/proc/self/mountinfo', 'utf8'),
): void {
  const ownMountNamespace = spec.linux?.namespaces?.some((n) => n.type === 'mount' && !n.path);
  if (!noPivot || !userNamespace || !ownMountNamespace) return;
  const mounted = new Set((spec.mounts ?? []).map((m) => m.type));
  const covered = revealingMounts(mountinfo(), rootfs).filter((r) => !mounted.has(r.fstype));
  if (!covered.length) return;
  const step = { what: 'cover the host\'s proc and sysfs mounts for --no-pivot' };
  e.p.sys('unshare', [CLONE_NEWNS], step);
  e.mount(null, e.str('/'), null, MS_SLAVE | MS_REC, null, step);
  for (const { point, fstype } of covered) {
    const dir = posix.join(point, fstype === 'proc' ? 'sys' : 'kernel');
    e.mount(e.str('tmpfs'), e.str(dir), 'tmpfs', MS_RDONLY | CGROUP_FLAGS, 'size=4k,mode=555', { what: `cover ${dir} for --no-pivot` }, { tolerate: [ENOENT] });
  }
}

/**
 * Moves the container into its rootfs: pivot_root, or MS_MOVE and chroot; in the host's
 * mount namespace (none of its own) only chroot, as runc does.
 */
export function emitEnterRoot(e: Emitter, spec: Spec, noPivot: boolean): void {
  const how = !hasNamespace(spec.linux?.namespaces, 'mount') ? 'chroot' : noPivot ? 'move' : 'pivot';
  const what = { chroot: 'chroot into rootfs', move: 'move rootfs to / and chroot', pivot: 'pivot_root into rootfs' }[how];
  const step = { what, configPath: 'root.path' };
  const rootFlags = rootPropagation(spec);
  const oldRoot = e.p.reg('oldroot');
  if (how === 'pivot') e.p.sys('openat', [AT_FDCWD, e.str('/'), O_DIRECTORY | O_RDONLY | O_CLOEXEC], step, { save: oldRoot });
  e.p.sys('fchdir', [e.root], step);
  if (how !== 'chroot' && rootFlags & MS_SHARED) {
    // pivot_root refuses a shared current root, and a mount moved onto a shared / would
    // propagate to the host's peers of it.
    e.mount(null, e.str('/'), null, MS_SLAVE, null, step);
  }
  if (how === 'chroot') {
    e.p.sys('chroot', [e.str('.')], step);
  } else if (how === 'move') {
    e.mount(e.str('.'), e.str('/'), null, MS_MOVE, null, step);
    e.p.sys('chroot', [e.str('.')], step);
  } else {
    e.p.sys('pivot_root', [e.str('.'), e.str('.')], step);
    // The old root is now stacked on the new one. From a directory of the old root,
    // make it (and only it: the new root's shared mounts must stay peers of the host's)
    // a slave, so that detaching it does not propagate to the host.
    e.p.sys('fchdir', [oldRoot], step);
    e.p.sys('close', [oldRoot], step);
    e.mount(null, e.str('.'), null, MS_SLAVE | MS_REC, null, step);
    e.p.sys('umount2', [e.str('.'), MNT_DETACH], step);
  }
  e.p.sys('chdir', [e.str('/')], step);
  e.p.sys('close', [e.root], step);
  if (spec.linux?.rootfsPropagation) {
    // Only now is the rootfs the root, the mount the option is about; and only that
    // mount: the r- forms reached the tree before the config's mounts were made, and each
    // of those has the propagation its own options ask for (an rslave volume beside an
    // rshared one, as Kubernetes' CRI asks, must stay a slave, not get a peer group).
    e.mount(null, e.str('/'), null, rootFlags & ~MS_REC, null, { what: 'set the propagation of the rootfs', configPath: 'linux.rootfsPropagation' });
  }
  const ro = e.p.bytes(mountAttr(MOUNT_ATTR_RDONLY, 0));
  const dev = (spec.mounts ?? []).findIndex((m) => devReadonly(m, parseMountOptions(m.options)));
  if (dev >= 0) {
    e.p.sys('mount_setattr', [AT_FDCWD, e.str('/dev'), 0, ro, MOUNT_ATTR_SIZE_VER0], { what: 'make /dev read-only', configPath: `mounts[${dev}]` });
  }
  if (spec.root.readonly) {
    // mount_setattr(2) keeps the flags the host locked in a user namespace.
    e.p.sys('mount_setattr', [AT_FDCWD, e.str('/'), 0, ro, MOUNT_ATTR_SIZE_VER0], { what: 'make the rootfs read-only', configPath: 'root.readonly' });
  }
}
