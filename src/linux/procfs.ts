import type { Emitter } from '../program/emit.js';
import type { Reg, Step } from '../program/program.js';
import {
  AT_EMPTY_PATH, AT_FDCWD, O_CLOEXEC, O_DIRECTORY, O_PATH, OPEN_TREE_CLONE, PROC_SUPER_MAGIC,
  RESOLVE_BENEATH, RESOLVE_NO_MAGICLINKS, RESOLVE_NO_SYMLINKS, RESOLVE_NO_XDEV, STATFS_STRUCT_BYTES,
} from '../sys/constants.js';

/**
 * The setup's writes to procfs (sysctls, LSM labels) go through a detached clone of the
 * container's /proc mount: open_tree(OPEN_TREE_CLONE) without AT_RECURSIVE copies that one
 * mount and none of the mounts on top of it, and no path reaches a detached mount, so
 * nothing can be mounted over a file of it. A mount over /proc/sys/... or
 * /proc/thread-self/attr/... (one a racing container sends in through a shared volume:
 * runc's CVE-2025-52881) would otherwise take the write, and a sysctl's free text written
 * to /proc/sys/kernel/core_pattern is a way out of the container. The clone must be procfs
 * (a /proc that is a volume would swallow the write silently: CVE-2019-16884), and its
 * files are opened beneath it without crossing a mount.
 *
 * Returns the register holding an O_PATH fd of the clone's root; the caller closes it.
 */
export function emitOpenProcfs(e: Emitter, step: Step): Reg {
  const p = e.p;
  const dir = p.reg('procdir');
  const proc = p.reg('procfs');
  p.sys('openat2', [AT_FDCWD, e.str('/proc'), e.how(O_PATH | O_DIRECTORY | O_CLOEXEC, RESOLVE_NO_SYMLINKS), 24], step, { save: dir });
  p.sys('open_tree', [dir, e.str(''), OPEN_TREE_CLONE | O_CLOEXEC | AT_EMPTY_PATH], step, { save: proc });
  p.sys('close', [dir], step);
  const statfs = p.bytes(STATFS_STRUCT_BYTES);
  const type = p.reg('procfstype');
  p.sys('fstatfs', [proc, statfs], step);
  p.load32(type, statfs, 0);
  p.failUnless(type, 0xffffffff, PROC_SUPER_MAGIC, { ...step, what: `${step.what}: /proc is not procfs` });
  return proc;
}

/**
 * Opens `file` (relative, such as "sys/net/ipv4/ip_forward") beneath a procfs clone from
 * emitOpenProcfs: no mount crossed, no magic link followed ("thread-self" is a plain one).
 */
export function emitOpenInProcfs(
  e: Emitter, proc: Reg, file: string, flags: number, save: Reg, step: Step, tolerate: number[] = [],
): void {
  const how = e.how(flags | O_CLOEXEC, RESOLVE_BENEATH | RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS);
  e.p.sys('openat2', [proc, e.str(file), how, 24], step, { save, tolerate });
}
