import {
  MS_RDONLY,
  MS_NOSUID,
  MS_NODEV,
  MS_NOEXEC,
  MS_SYNCHRONOUS,
  MS_REMOUNT,
  MS_MANDLOCK,
  MS_DIRSYNC,
  MS_NOSYMFOLLOW,
  MS_NOATIME,
  MS_NODIRATIME,
  MS_BIND,
  MS_REC,
  MS_SILENT,
  MS_UNBINDABLE,
  MS_PRIVATE,
  MS_SLAVE,
  MS_SHARED,
  MS_RELATIME,
  MS_STRICTATIME,
  MS_LAZYTIME,
  MS_POSIXACL,
  MS_I_VERSION,
  MOUNT_ATTR_RDONLY,
  MOUNT_ATTR_NOSUID,
  MOUNT_ATTR_NODEV,
  MOUNT_ATTR_NOEXEC,
  MOUNT_ATTR__ATIME,
  MOUNT_ATTR_RELATIME,
  MOUNT_ATTR_NOATIME,
  MOUNT_ATTR_STRICTATIME,
  MOUNT_ATTR_NODIRATIME,
  MOUNT_ATTR_NOSYMFOLLOW,
  MOUNT_ATTR_SIZE_VER0,
} from '../sys/constants.js';

/** The options of one entry of config.json's mounts, sorted by the call that applies them. */
export interface MountOptions {
  /** MS_* flags for mount(2). */
  flags: number;
  /** MS_* flags turned off explicitly, so that a later remount does not keep them. */
  clearFlags: number;
  /** MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE (with MS_REC for the r* forms), in order, one mount(2) call each. */
  propagation: number[];
  /** MOUNT_ATTR_* to set with mount_setattr(2) and AT_RECURSIVE. */
  recursiveSet: number;
  /** MOUNT_ATTR_* to clear with mount_setattr(2) and AT_RECURSIVE. */
  recursiveClear: number;
  idmap: 'none' | 'idmap' | 'ridmap';
  /** runc's tmpcopyup: a tmpfs starts with what the rootfs had at its destination. */
  tmpcopyup: boolean;
  /** The filesystem-specific rest, comma-joined in the order given. */
  data: string;
}

interface Bit {
  bit: number;
  clear: boolean;
}

const on = (bit: number): Bit => ({ bit, clear: false });
const off = (bit: number): Bit => ({ bit, clear: true });

/** The filesystem-independent options of mount(8). */
const FLAGS = new Map<string, Bit>([
  ['ro', on(MS_RDONLY)],
  ['rw', off(MS_RDONLY)],
  ['nosuid', on(MS_NOSUID)],
  ['suid', off(MS_NOSUID)],
  ['nodev', on(MS_NODEV)],
  ['dev', off(MS_NODEV)],
  ['noexec', on(MS_NOEXEC)],
  ['exec', off(MS_NOEXEC)],
  ['sync', on(MS_SYNCHRONOUS)],
  ['async', off(MS_SYNCHRONOUS)],
  ['dirsync', on(MS_DIRSYNC)],
  ['remount', on(MS_REMOUNT)],
  ['mand', on(MS_MANDLOCK)],
  ['nomand', off(MS_MANDLOCK)],
  ['noatime', on(MS_NOATIME)],
  ['atime', off(MS_NOATIME)],
  ['nodiratime', on(MS_NODIRATIME)],
  ['diratime', off(MS_NODIRATIME)],
  ['relatime', on(MS_RELATIME)],
  ['norelatime', off(MS_RELATIME)],
  ['strictatime', on(MS_STRICTATIME)],
  ['nostrictatime', off(MS_STRICTATIME)],
  ['lazytime', on(MS_LAZYTIME)],
  ['nolazytime', off(MS_LAZYTIME)],
  ['nosymfollow', on(MS_NOSYMFOLLOW)],
  ['symfollow', off(MS_NOSYMFOLLOW)],
  ['silent', on(MS_SILENT)],
  ['loud', off(MS_SILENT)],
  ['acl', on(MS_POSIXACL)],
  ['noacl', off(MS_POSIXACL)],
  ['iversion', on(MS_I_VERSION)],
  ['noiversion', off(MS_I_VERSION)],
  ['bind', on(MS_BIND)],
  ['rbind', on(MS_BIND | MS_REC)],
]);

const PROPAGATION = new Map<string, number>([
  ['shared', MS_SHARED],
  ['rshared', MS_SHARED | MS_REC],
  ['slave', MS_SLAVE],
  ['rslave', MS_SLAVE | MS_REC],
  ['private', MS_PRIVATE],
  ['rprivate', MS_PRIVATE | MS_REC],
  ['unbindable', MS_UNBINDABLE],
  ['runbindable', MS_UNBINDABLE | MS_REC],
]);

/** The recursive options that are bits of mount_setattr(2). */
const RECURSIVE = new Map<string, Bit>([
  ['rro', on(MOUNT_ATTR_RDONLY)],
  ['rrw', off(MOUNT_ATTR_RDONLY)],
  ['rnosuid', on(MOUNT_ATTR_NOSUID)],
  ['rsuid', off(MOUNT_ATTR_NOSUID)],
  ['rnodev', on(MOUNT_ATTR_NODEV)],
  ['rdev', off(MOUNT_ATTR_NODEV)],
  ['rnoexec', on(MOUNT_ATTR_NOEXEC)],
  ['rexec', off(MOUNT_ATTR_NOEXEC)],
  ['rnodiratime', on(MOUNT_ATTR_NODIRATIME)],
  ['rdiratime', off(MOUNT_ATTR_NODIRATIME)],
  ['rnosymfollow', on(MOUNT_ATTR_NOSYMFOLLOW)],
  ['rsymfollow', off(MOUNT_ATTR_NOSYMFOLLOW)],
]);

/**
 * The recursive atime options. mount_setattr(2) takes atime as one enum value with all of
 * MOUNT_ATTR__ATIME in attr_clr (a partial mask there is EINVAL), so each option chooses a
 * mode: a negative one leaves the mode it names (or an unknown one) for the mode mount(8)
 * means by it, and keeps any other.
 */
const RECURSIVE_ATIME = new Map<string, (mode: number | undefined) => number>([
  ['rrelatime', () => MOUNT_ATTR_RELATIME],
  ['rnoatime', () => MOUNT_ATTR_NOATIME],
  ['rstrictatime', () => MOUNT_ATTR_STRICTATIME],
  ['ratime', (mode) => (mode === undefined || mode === MOUNT_ATTR_NOATIME ? MOUNT_ATTR_RELATIME : mode)],
  ['rnostrictatime', (mode) => (mode === undefined || mode === MOUNT_ATTR_STRICTATIME ? MOUNT_ATTR_RELATIME : mode)],
  ['rnorelatime', (mode) => (mode === undefined || mode === MOUNT_ATTR_RELATIME ? MOUNT_ATTR_STRICTATIME : mode)],
]);

/** mount(8)'s "defaults" asks for nothing beyond the kernel's defaults, and no filesystem takes it as data. */
const DEFAULTS = 'defaults';
/** runc's extension, never passed to the kernel. */
const TMPCOPYUP = 'tmpcopyup';

export const MOUNT_OPTIONS: readonly string[] = [
  ...FLAGS.keys(),
  ...PROPAGATION.keys(),
  ...RECURSIVE.keys(),
  ...RECURSIVE_ATIME.keys(),
  'idmap',
  'ridmap',
  TMPCOPYUP,
  DEFAULTS,
].sort();

/** Sorts mount options into mount(2) flags, propagation, mount_setattr(2) attributes and data, like runc. */
export function parseMountOptions(options: readonly string[] | undefined): MountOptions {
  const result: MountOptions = {
    flags: 0,
    clearFlags: 0,
    propagation: [],
    recursiveSet: 0,
    recursiveClear: 0,
    idmap: 'none',
    tmpcopyup: false,
    data: '',
  };
  const data: string[] = [];
  let atime: number | undefined;
  for (const option of options ?? []) {
    const flag = FLAGS.get(option);
    const propagation = PROPAGATION.get(option);
    const recursive = RECURSIVE.get(option);
    const recursiveAtime = RECURSIVE_ATIME.get(option);
    // Each option undoes its opposite given earlier: the last of ro/rw wins.
    if (flag) {
      if (flag.clear) {
        result.flags &= ~flag.bit;
        result.clearFlags |= flag.bit;
      } else {
        result.flags |= flag.bit;
        result.clearFlags &= ~flag.bit;
      }
    } else if (propagation !== undefined) {
      result.propagation.push(propagation);
    } else if (recursive) {
      if (recursive.clear) {
        result.recursiveSet &= ~recursive.bit;
        result.recursiveClear |= recursive.bit;
      } else {
        result.recursiveSet |= recursive.bit;
        result.recursiveClear &= ~recursive.bit;
      }
    } else if (recursiveAtime) {
      atime = recursiveAtime(atime);
    } else if (option === 'idmap' || option === 'ridmap') {
      result.idmap = option;
    } else if (option === TMPCOPYUP) {
      result.tmpcopyup = true;
    } else if (option !== DEFAULTS) {
      data.push(option);
    }
  }
  if (atime !== undefined) {
    result.recursiveSet |= atime;
    result.recursiveClear |= MOUNT_ATTR__ATIME;
  }
  result.data = data.join(',');
  return result;
}

/** The per-mount MS_* flags that have a mount_setattr(2) attribute, atime aside. */
const PER_MOUNT: [number, number][] = [
  [MS_RDONLY, MOUNT_ATTR_RDONLY],
  [MS_NOSUID, MOUNT_ATTR_NOSUID],
  [MS_NODEV, MOUNT_ATTR_NODEV],
  [MS_NOEXEC, MOUNT_ATTR_NOEXEC],
  [MS_NODIRATIME, MOUNT_ATTR_NODIRATIME],
  [MS_NOSYMFOLLOW, MOUNT_ATTR_NOSYMFOLLOW],
];

/**
 * The mount_setattr(2) form of the per-mount options: what to set and what to clear, so
 * that every attribute the options do not name keeps its value. An atime option chooses
 * the mode with the precedence mount(2) gives it (strictatime, then noatime).
 */
export function perMountAttributes(o: Pick<MountOptions, 'flags' | 'clearFlags'>): { set: number; clear: number } {
  let set = 0;
  let clear = 0;
  for (const [flag, attr] of PER_MOUNT) {
    if (o.flags & flag) set |= attr;
    else if (o.clearFlags & flag) clear |= attr;
  }
  if (o.flags & (MS_STRICTATIME | MS_NOATIME | MS_RELATIME)) {
    clear |= MOUNT_ATTR__ATIME;
    if (o.flags & MS_STRICTATIME) set |= MOUNT_ATTR_STRICTATIME;
    else if (o.flags & MS_NOATIME) set |= MOUNT_ATTR_NOATIME;
    else set |= MOUNT_ATTR_RELATIME;
  }
  return { set, clear };
}

/** A struct mount_attr: attr_set, attr_clr, propagation, userns_fd. */
export function mountAttr(set: number, clear: number, propagation = 0, usernsFd = 0): Buffer {
  const b = Buffer.alloc(MOUNT_ATTR_SIZE_VER0);
  b.writeBigUInt64LE(BigInt(set), 0);
  b.writeBigUInt64LE(BigInt(clear), 8);
  b.writeBigUInt64LE(BigInt(propagation), 16);
  b.writeBigUInt64LE(BigInt(usernsFd), 24);
  return b;
}
