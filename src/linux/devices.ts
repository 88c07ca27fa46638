import { existsSync } from 'node:fs';
import { dirname, posix } from 'node:path';
import type { LinuxDevice, Spec } from '../spec/types/config.js';
import type { Emitter } from '../program/emit.js';
import type { Label, Ptr, Reg } from '../program/program.js';
import {
  AT_SYMLINK_NOFOLLOW, MS_BIND, O_CLOEXEC, O_DIRECTORY, O_NOFOLLOW, O_PATH, S_IFBLK, S_IFCHR, S_IFIFO, S_IFMT, S_IFREG,
  STATX_MODE_OFFSET, STATX_RDEV_MAJOR_OFFSET, STATX_RDEV_MINOR_OFFSET, STATX_STRUCT_BYTES, STATX_TYPE,
} from '../sys/constants.js';
import { EEXIST, ENOENT } from '../sys/errno.js';

/**
 * /dev: the default devices runtime-spec requires (config-linux.md, "Default Devices"),
 * the config's linux.devices, and the standard symlinks. Outside a user namespace they
 * are made with mknod; inside one mknod is not allowed, so the host's node is bind-mounted
 * onto an empty file — the host node itself is never chowned or chmodded.
 */

export const DEFAULT_DEVICES: LinuxDevice[] = [
  { path: '/dev/null', type: 'c', major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/zero', type: 'c', major: 1, minor: 5, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/full', type: 'c', major: 1, minor: 7, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/random', type: 'c', major: 1, minor: 8, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/urandom', type: 'c', major: 1, minor: 9, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/tty', type: 'c', major: 5, minor: 0, fileMode: 0o666, uid: 0, gid: 0 },
];

const TYPE_BITS: Record<LinuxDevice['type'], number> = { c: S_IFCHR, u: S_IFCHR, b: S_IFBLK, p: S_IFIFO };

/** The kernel's encoding of a device number (new_encode_dev). */
export function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major);
  const mi = BigInt(minor);
  return (mi & 0xffn) | ((ma & 0xfffn) << 8n) | ((mi & ~0xffn) << 12n) | ((ma & ~0xfffn) << 32n);
}

/** Whether the container's /dev comes from a bind mount, so that runts must not fill it. */
function devIsBound(spec: Spec): boolean {
  return (spec.mounts ?? []).some(
    (m) => posix.normalize(m.destination) === '/dev' && (m.type === 'bind' || (m.options ?? []).some((o) => o === 'bind' || o === 'rbind')),
  );
}

export function emitDevices(e: Emitter, spec: Spec, inUserNamespace: boolean): void {
  if (devIsBound(spec)) return;
  const dir = e.p.reg('devdir');
  const configured = spec.linux?.devices ?? [];
  const defaults = DEFAULT_DEVICES.filter((d) => !configured.some((c) => posix.normalize(c.path) === d.path));
  const all = [
    ...defaults.map((d) => ({ d, configPath: undefined as string | undefined })),
    ...configured.map((d, i) => ({ d, configPath: `linux.devices[${i}]` })),
  ];
  for (const { d, configPath } of all) emitDevice(e, d, dir, inUserNamespace, configPath);

  const links: [string, string][] = [
    ['/proc/self/fd', 'fd'], ['/proc/self/fd/0', 'stdin'], ['/proc/self/fd/1', 'stdout'],
    ['/proc/self/fd/2', 'stderr'], ['pts/ptmx', 'ptmx'],
  ];
  if (existsSync('/proc/kcore')) links.push(['/proc/kcore', 'core']);
  const step = { what: 'create the /dev symlinks' };
  e.mkdirAll('dev', step);
  e.openInRoot('dev', O_DIRECTORY, dir, step);
  // /dev/ptmx must lead to the container's devpts, whatever the image put there.
  e.p.sys('unlinkat', [dir, e.str('ptmx'), 0], step, { tolerate: [ENOENT] });
  for (const [target, name] of links) {
    e.p.sys('symlinkat', [e.str(target), dir, e.str(name)], { what: `create /dev/${name} -> ${target}` }, { tolerate: [EEXIST] });
  }
  e.p.sys('close', [dir], step);
}

/** Jumps to `mismatch` unless the statx(2) result at `statx` describes device `d` (type and number). */
export function emitMatchDevice(e: Emitter, statx: Ptr, d: Pick<LinuxDevice, 'type' | 'major' | 'minor'>, mismatch: Label): void {
  const p = e.p;
  const field = p.reg('field');
  p.load32(field, statx, STATX_MODE_OFFSET / 4);
  p.jumpIfDifferent(field, S_IFMT, TYPE_BITS[d.type], mismatch);
  if (d.type !== 'p') {
    p.load32(field, statx, STATX_RDEV_MAJOR_OFFSET / 4);
    p.jumpIfDifferent(field, -1, d.major ?? 0, mismatch);
    p.load32(field, statx, STATX_RDEV_MINOR_OFFSET / 4);
    p.jumpIfDifferent(field, -1, d.minor ?? 0, mismatch);
  }
}

function emitCheckExisting(e: Emitter, d: LinuxDevice, dir: Reg, name: string, configPath: string): void {
  const p = e.p;
  const want = d.type === 'p' ? 'a fifo' : `device ${d.type} ${d.major ?? 0}:${d.minor ?? 0}`;
  const statx = p.bytes(STATX_STRUCT_BYTES);
  const found = p.reg('existing');
  const absent = p.label(`nothing at ${d.path}`);
  const mismatch = p.label(`not ${want} at ${d.path}`);
  p.sys('statx', [dir, e.str(name), AT_SYMLINK_NOFOLLOW, STATX_TYPE, statx], { what: `look at ${d.path}`, configPath },
    { tolerate: [ENOENT], save: found });
  p.jumpIfNegative(found, absent);
  emitMatchDevice(e, statx, d, mismatch);
  p.jump(absent);
  p.place(mismatch);
  p.fail({ what: `a file that is not ${want} exists at ${d.path}`, configPath }, 0);
  p.place(absent);
}

function emitDevice(e: Emitter, d: LinuxDevice, dir: Reg, inUserNamespace: boolean, configPath: string | undefined): void {
  const rel = posix.normalize(d.path).replace(/^\/+/, '');
  const parent = dirname(rel);
  const name = posix.basename(rel);
  const step = { what: `create device ${d.path}`, configPath };
  e.mkdirAll(parent, step);
  e.openInRoot(parent, O_DIRECTORY, dir, step);
  // config-linux.md: a file already at the path that is not the device asked for is an
  // error; the same device is made again, with the config's mode and owner.
  if (configPath) emitCheckExisting(e, d, dir, name, configPath);
  e.p.sys('unlinkat', [dir, e.str(name), 0], step, { tolerate: [ENOENT] });
  if (inUserNamespace) {
    e.p.sys('mknodat', [dir, e.str(name), S_IFREG | 0o644, 0], step);
    e.p.sys('openat', [dir, e.str(name), O_PATH | O_NOFOLLOW | O_CLOEXEC], step, { save: e.tmp });
    e.toScratch(e.tmp, step);
    e.mount(e.str(d.path), e.scratchPath, null, MS_BIND, null, { what: `bind mount host device ${d.path}`, configPath });
    e.closeScratch(step);
  } else {
    const mode = TYPE_BITS[d.type] | ((d.fileMode ?? 0o666) & 0o7777);
    const dev = d.type === 'p' ? 0n : makedev(d.major ?? 0, d.minor ?? 0);
    e.p.sys('mknodat', [dir, e.str(name), mode, dev], step);
    e.p.sys('fchownat', [dir, e.str(name), d.uid ?? 0, d.gid ?? 0, AT_SYMLINK_NOFOLLOW], step);
  }
  e.p.sys('close', [dir], step);
}
