import type { Spec } from '../spec/types/config.js';
import type { Emitter } from '../program/emit.js';
import type { Reg, Step } from '../program/program.js';
import { mountAttr } from './mount-options.js';
import { emitMatchDevice } from './devices.js';
import {
  AT_EMPTY_PATH, AT_FDCWD, AT_RECURSIVE, FSCONFIG_CMD_CREATE, FSCONFIG_SET_FLAG, FSCONFIG_SET_STRING,
  FSMOUNT_CLOEXEC, FSOPEN_CLOEXEC, MOUNT_ATTR_RDONLY, MOUNT_ATTR_SIZE_VER0, MOVE_MOUNT_F_EMPTY_PATH,
  MOVE_MOUNT_T_EMPTY_PATH, O_CLOEXEC, O_PATH, OPEN_TREE_CLONE, RESOLVE_IN_ROOT,
  RESOLVE_NO_MAGICLINKS, RESOLVE_NO_SYMLINKS, STATX_STRUCT_BYTES, STATX_TYPE,
  STATX_MODE_OFFSET, S_IFDIR, S_IFMT,
} from '../sys/constants.js';
import { ENOENT } from '../sys/errno.js';

/**
 * linux.readonlyPaths and linux.maskedPaths, applied after pivot_root, where the paths
 * are the container's own. A path that does not exist is skipped, as runc does.
 */

/**
 * reg = openat2(AT_FDCWD, path, flags, RESOLVE_IN_ROOT): after pivot_root the cwd is the
 * container's /, so a symlink resolves inside the container whatever it points to.
 */
export function openInContainer(
  e: Emitter, path: string, flags: number, save: Reg, step: Step, opts: { tolerate?: number[]; resolve?: number } = {},
): void {
  const resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | (opts.resolve ?? 0);
  e.p.sys('openat2', [AT_FDCWD, e.str(path), e.how(flags | O_CLOEXEC, resolve), 24], step, { save, tolerate: opts.tolerate });
}

/**
 * Each path gets a recursive bind mount of itself made read-only with mount_setattr(2),
 * which changes only MOUNT_ATTR_RDONLY: nosuid, noexec and the other flags stay as they
 * were, including those a user namespace may not clear.
 */
export function emitReadonlyPaths(e: Emitter, spec: Spec): void {
  const paths = spec.linux?.readonlyPaths ?? [];
  if (paths.length === 0) return;
  const p = e.p;
  const at = p.reg('readonly');
  const tree = p.reg('readonlytree');
  const attr = p.bytes(mountAttr(MOUNT_ATTR_RDONLY, 0));
  paths.forEach((path, i) => {
    const step = { what: `make ${path} read-only`, configPath: `linux.readonlyPaths[${i}]` };
    const missing = p.label(`missing ${path}`);
    openInContainer(e, path, O_PATH, at, step, { tolerate: [ENOENT] });
    p.jumpIfNegative(at, missing);
    p.sys('open_tree', [at, e.str(''), OPEN_TREE_CLONE | O_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE], step, { save: tree });
    p.sys('mount_setattr', [tree, e.str(''), AT_EMPTY_PATH | AT_RECURSIVE, attr, MOUNT_ATTR_SIZE_VER0], step);
    p.sys('move_mount', [tree, e.str(''), at, e.str(''), MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH], step);
    p.sys('close', [tree], step);
    p.sys('close', [at], step);
    p.place(missing);
  });
}

/**
 * A file is masked by a bind mount of the container's /dev/null, a directory by a
 * read-only tmpfs. /dev/null is opened once, without following symlinks, and must be the
 * null device: every bind is cloned from that fd with open_tree(2), so nothing in the
 * container can swap what is bound between the check and the mount (CVE-2025-31133).
 */
export function emitMaskedPaths(e: Emitter, spec: Spec): void {
  const paths = spec.linux?.maskedPaths ?? [];
  if (paths.length === 0) return;
  const p = e.p;
  const check = { what: 'open the container\'s /dev/null to mask files with', configPath: 'linux.maskedPaths' };
  const devNull = p.reg('devnull');
  openInContainer(e, '/dev/null', O_PATH, devNull, check, { resolve: RESOLVE_NO_SYMLINKS });
  const statx = p.bytes(STATX_STRUCT_BYTES);
  p.sys('statx', [devNull, e.str(''), AT_EMPTY_PATH, STATX_TYPE, statx], check);
  const isNull = p.label('/dev/null is the null device');
  const notNull = p.label('/dev/null is not the null device');
  emitMatchDevice(e, statx, { type: 'c', major: 1, minor: 3 }, notNull);
  p.jump(isNull);
  p.place(notNull);
  p.fail({ what: 'the container\'s /dev/null is not the null device (c 1:3)', configPath: 'linux.maskedPaths' }, 0);
  p.place(isNull);
  const at = p.reg('masked');
  const tree = p.reg('maskbind');
  const mode = p.reg('maskmode');
  const context = p.reg('masktmpfsctx');
  const label = spec.linux?.mountLabel;
  const moveOnto = (s: Step) => {
    p.sys('move_mount', [tree, e.str(''), at, e.str(''), MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH], s);
    p.sys('close', [tree], s);
  };
  paths.forEach((path, i) => {
    const configPath = `linux.maskedPaths[${i}]`;
    const step = { what: `mask ${path}`, configPath };
    const next = p.label(`after ${path}`);
    const file = p.label(`file ${path}`);
    const done = p.label(`masked ${path}`);
    openInContainer(e, path, O_PATH, at, step, { tolerate: [ENOENT] });
    p.jumpIfNegative(at, next);
    p.sys('statx', [at, e.str(''), AT_EMPTY_PATH, STATX_TYPE, statx], step);
    p.load32(mode, statx, STATX_MODE_OFFSET / 4);
    p.jumpIfDifferent(mode, S_IFMT, S_IFDIR, file);
    // A directory gets an empty read-only tmpfs, made attached nowhere and moved on by fd
    // like the binds: no path through /proc/self/fd, which is the container's /proc now.
    const tmpfs = { what: `mask ${path} with a read-only tmpfs`, configPath };
    p.sys('fsopen', [e.str('tmpfs'), FSOPEN_CLOEXEC], tmpfs, { save: context });
    // the source mount(2) gave it, as runc's: mountinfo shows "tmpfs", not "none"
    p.sys('fsconfig', [context, FSCONFIG_SET_STRING, e.str('source'), e.str('tmpfs'), 0], tmpfs);
    p.sys('fsconfig', [context, FSCONFIG_SET_FLAG, e.str('ro'), 0, 0], tmpfs);
    if (label) p.sys('fsconfig', [context, FSCONFIG_SET_STRING, e.str('context'), e.str(label), 0], tmpfs);
    p.sys('fsconfig', [context, FSCONFIG_CMD_CREATE, 0, 0, 0], tmpfs);
    p.sys('fsmount', [context, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY], tmpfs, { save: tree });
    p.sys('close', [context], tmpfs);
    moveOnto(tmpfs);
    p.jump(done);
    p.place(file);
    const bind = { what: `mask ${path} with /dev/null`, configPath };
    p.sys('open_tree', [devNull, e.str(''), OPEN_TREE_CLONE | O_CLOEXEC | AT_EMPTY_PATH], bind, { save: tree });
    moveOnto(bind);
    p.place(done);
    p.sys('close', [at], step);
    p.place(next);
  });
  p.sys('close', [devNull], check);
}
