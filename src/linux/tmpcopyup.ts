import {
  closeSync, fchmodSync, fchownSync, lchownSync, lstatSync, mkdirSync, openSync, readdirSync, readlinkSync, readSync, symlinkSync,
  writeSync, type Stats,
} from 'node:fs';
import type { Spec } from '../spec/types/config.js';
import { RuntsError } from '../errors.js';
import { libc } from '../sys/libc.js';
import { syscallNumber } from '../sys/syscalls.js';
import {
  AT_EMPTY_PATH, MOUNT_ATTR_RDONLY, MOUNT_ATTR_SIZE_VER0, MS_RDONLY, O_CLOEXEC, O_CREAT, O_DIRECTORY, O_EXCL, O_NOFOLLOW, O_PATH,
  O_RDONLY, O_WRONLY, RESOLVE_IN_ROOT, RESOLVE_NO_MAGICLINKS,
} from '../sys/constants.js';
import { ENOENT, ENOTDIR } from '../sys/errno.js';
import { mountAttr, parseMountOptions, perMountAttributes } from './mount-options.js';
import { labelData } from './mounts.js';
import { FsContext } from './fs-context.js';
import * as log from '../log.js';

/**
 * tmpcopyup, runc's extension that Podman sends for --tmpfs, --mount type=tmpfs and
 * --read-only: the tmpfs starts with what the rootfs had at its destination — files,
 * directories, symlinks, their modes and owners. The word never reaches mount(2).
 *
 * The runtime makes each such tmpfs itself, attached nowhere (fsopen, fsmount), fills it
 * from the rootfs, and the init moves it into place like an id-mapped mount. The rootfs
 * is read through fds only: the destination resolved with openat2(RESOLVE_IN_ROOT), then
 * one name at a time with O_NOFOLLOW, so a symlink in the image never leads the copy out.
 */

/** Makes the tmpcopyup mounts of mounts[]; returns mount index → fd of the detached tmpfs. */
export function makeCopiedUpTmpfs(spec: Spec, rootfs: string): Map<number, number> {
  const made = new Map<number, number>();
  try {
    (spec.mounts ?? []).forEach((m, i) => {
      const o = parseMountOptions(m.options);
      if (!o.tmpcopyup || m.type !== 'tmpfs') return;
      const configPath = `mounts[${i}]`;
      const what = `tmpcopyup tmpfs on ${m.destination}`;
      const ctx = FsContext.open('tmpfs');
      if (!(ctx instanceof FsContext)) throw new RuntsError(`${what}: open a tmpfs context`, { errno: ctx.errno, configPath });
      try {
        // what mountinfo shows as the source, as with mount(2)
        for (const option of [`source=${m.source ?? 'tmpfs'}`, ...splitData(labelData(o.data, spec.linux?.mountLabel))]) {
          const errno = ctx.set(option);
          if (errno) throw new RuntsError(`${what}: option ${option}`, { errno, configPath: `${configPath}.options` });
        }
        // read-only only once filled
        made.set(i, ctx.mount(perMountAttributes(o).set & ~MOUNT_ATTR_RDONLY, what, configPath));
      } finally {
        ctx.close();
      }
      const tmpfs = made.get(i)!;
      copyUp(rootfs, m.destination, tmpfs, configPath);
      if (o.flags & MS_RDONLY) {
        const sys = libc();
        const empty = Buffer.from('\0');
        const attr = mountAttr(MOUNT_ATTR_RDONLY, 0);
        if (sys.syscall(syscallNumber('mount_setattr'), tmpfs, sys.address(empty), AT_EMPTY_PATH, sys.address(attr), MOUNT_ATTR_SIZE_VER0, 0) < 0) {
          throw new RuntsError(`${what}: make it read-only`, { errno: sys.errno(), configPath });
        }
      }
    });
    return made;
  } catch (err) {
    for (const fd of made.values()) closeSync(fd);
    throw err;
  }
}

/** mount(2) data as single options; a quoted SELinux context may hold commas. */
function splitData(data: string): string[] {
  return data.match(/(?:[^,"]|"[^"]*")+/g) ?? [];
}

/** Copies the rootfs's directory at `dest` (if there is one) into the tmpfs mounted at fd `tmpfs`. */
function copyUp(rootfs: string, dest: string, tmpfs: number, configPath: string): void {
  const fds: number[] = [];
  const open = (path: string, flags: number) => {
    fds.push(openSync(path, flags | O_CLOEXEC));
    return fds[fds.length - 1];
  };
  try {
    const root = open(rootfs, O_PATH | O_DIRECTORY);
    const source = openInRoot(root, dest);
    if (source === undefined) return;
    fds.push(source);
    const target = open(`/proc/self/fd/${tmpfs}`, O_RDONLY | O_DIRECTORY);
    copyDirectory(source, target);
    copyOwnerAndMode(fstat(source), target);
  } catch (err) {
    throw RuntsError.fromNode(`copy ${dest} of the rootfs into its tmpfs`, err, configPath);
  } finally {
    for (const fd of fds) closeSync(fd);
  }
}

/** openat2(root, path, O_RDONLY | O_DIRECTORY, RESOLVE_IN_ROOT); undefined when it is not a directory of the rootfs. */
function openInRoot(root: number, path: string): number | undefined {
  const sys = libc();
  const how = Buffer.alloc(24);
  how.writeBigUInt64LE(BigInt(O_RDONLY | O_DIRECTORY | O_CLOEXEC), 0);
  how.writeBigUInt64LE(BigInt(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS), 16);
  const name = Buffer.from(`${path}\0`);
  const fd = sys.syscall(syscallNumber('openat2'), root, sys.address(name), sys.address(how), how.length, 0, 0);
  if (fd >= 0) return fd;
  const errno = sys.errno();
  if (errno === ENOENT || errno === ENOTDIR) return undefined;
  throw new RuntsError(`open ${path} in the rootfs`, { errno });
}

function fstat(fd: number): Stats {
  return lstatSync(`/proc/self/fd/${fd}/.`);
}

function copyOwnerAndMode(st: Stats, fd: number): void {
  // chown first: it clears the set-id bits chmod sets
  fchownSync(fd, st.uid, st.gid);
  fchmodSync(fd, st.mode & 0o7777);
}

function copyDirectory(source: number, target: number): void {
  for (const name of readdirSync(`/proc/self/fd/${source}`)) {
    const from = `/proc/self/fd/${source}/${name}`;
    const to = `/proc/self/fd/${target}/${name}`;
    const st = lstatSync(from);
    if (st.isDirectory()) {
      mkdirSync(to, 0o700);
      const fds = [openSync(from, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)];
      try {
        fds.push(openSync(to, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        copyDirectory(fds[0], fds[1]);
        copyOwnerAndMode(st, fds[1]);
      } finally {
        fds.forEach((fd) => closeSync(fd));
      }
    } else if (st.isFile()) {
      const fds = [openSync(from, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)];
      try {
        fds.push(openSync(to, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600));
        copyContent(fds[0], fds[1]);
        copyOwnerAndMode(st, fds[1]);
      } finally {
        fds.forEach((fd) => closeSync(fd));
      }
    } else if (st.isSymbolicLink()) {
      symlinkSync(readlinkSync(from), to);
      lchownSync(to, st.uid, st.gid);
    } else {
      // devices, fifos and sockets have no place in a tmpfs of the image's files
      log.debug(`tmpcopyup: ${name} is not a file, directory or symlink: not copied`);
    }
  }
}

function copyContent(from: number, to: number): void {
  const buf = Buffer.allocUnsafe(1 << 16);
  for (;;) {
    const n = readSync(from, buf, 0, buf.length, null);
    if (n === 0) return;
    for (let done = 0; done < n;) done += writeSync(to, buf, done, n - done);
  }
}
