import { statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { Mount, Spec } from '../spec/types/config.js';
import { parseMountOptions } from './mount-options.js';
import type { Emitter } from './init/emit.js';
import {
  AT_FDCWD, MNT_DETACH, MS_BIND, MS_PRIVATE, MS_RDONLY, MS_REC, MS_REMOUNT, MS_SLAVE, MS_SHARED,
  MS_UNBINDABLE, MS_MOVE, O_CLOEXEC, O_DIRECTORY, O_PATH,
} from '../sys/constants.js';

/**
 * The container's mount namespace: the rootfs bind-mounted onto itself, the config's
 * mounts in order, then pivot_root (or MS_MOVE + chroot with --no-pivot).
 */

const PROPAGATION: Record<string, number> = {
  shared: MS_SHARED, slave: MS_SLAVE, private: MS_PRIVATE, unbindable: MS_UNBINDABLE,
  rshared: MS_SHARED | MS_REC, rslave: MS_SLAVE | MS_REC, rprivate: MS_PRIVATE | MS_REC,
  runbindable: MS_UNBINDABLE | MS_REC,
};

export function rootfsPath(spec: Spec, bundle: string): string {
  return isAbsolute(spec.root.path) ? spec.root.path : resolve(bundle, spec.root.path);
}

/** Whether a bind mount's source is a file (the destination must then be a file too). */
function bindSourceIsFile(source: string): boolean {
  try {
    return !statSync(source).isDirectory();
  } catch {
    return false;
  }
}

function bindSource(m: Mount, bundle: string): string {
  const source = m.source ?? '';
  return isAbsolute(source) ? source : resolve(bundle, source);
}

/** Makes the host's mounts invisible to the container's and opens the rootfs as `root`. */
export function emitPrepareRoot(e: Emitter, spec: Spec, rootfs: string): void {
  const propagation = spec.linux?.rootfsPropagation;
  // Slave by default, like runc: host mount events reach the container, none go back.
  const rootFlags = propagation ? PROPAGATION[propagation] ?? MS_SLAVE | MS_REC : MS_SLAVE | MS_REC;
  const step = { what: 'set the propagation of /', configPath: propagation ? 'linux.rootfsPropagation' : undefined };
  e.mount(null, e.str('/'), null, rootFlags, null, step);
  const bind = { what: `bind mount rootfs ${rootfs} onto itself`, configPath: 'root.path' };
  e.mount(e.str(rootfs), e.str(rootfs), null, MS_BIND | MS_REC, null, bind);
  e.p.sys('openat', [AT_FDCWD, e.str(rootfs), O_PATH | O_DIRECTORY | O_CLOEXEC], { what: `open rootfs ${rootfs}`, configPath: 'root.path' }, { save: e.root });
}

/** The config's mounts, in order. */
export function emitMounts(e: Emitter, spec: Spec, bundle: string): void {
  (spec.mounts ?? []).forEach((m, i) => emitMount(e, m, i, bundle));
}

function emitMount(e: Emitter, m: Mount, i: number, bundle: string): void {
  const configPath = `mounts[${i}]`;
  const o = parseMountOptions(m.options);
  const isBind = (o.flags & MS_BIND) !== 0 || m.type === 'bind';
  const dest = m.destination;
  const step = { what: `mount ${m.type ?? 'bind'} ${m.source ?? ''} on ${dest}`, configPath };
  const source = isBind ? bindSource(m, bundle) : m.source ?? m.type ?? 'none';
  const asFile = isBind && bindSourceIsFile(source);
  e.mkdirAll(dest, { what: `create mount point ${dest}`, configPath }, 0o755, asFile);
  e.openInRoot(dest, 0, e.tmp, { what: `open mount point ${dest}`, configPath });
  e.toScratch(e.tmp, step);
  let flags = o.flags;
  if (isBind) flags |= MS_BIND;
  const fstype = isBind ? null : m.type ?? null;
  // A bind mount ignores every flag but MS_REC at first: read-only and the others
  // need a remount of the new mount.
  e.mount(e.str(source), e.scratchPath, fstype, isBind ? flags & (MS_BIND | MS_REC) : flags, isBind ? null : o.data, step);
  if (isBind && flags & ~(MS_BIND | MS_REC)) {
    e.mount(null, e.scratchPath, null, (flags & ~MS_REC) | MS_REMOUNT, null, { what: `remount ${dest} with its options`, configPath });
  }
  for (const p of o.propagation) {
    e.mount(null, e.scratchPath, null, p, null, { what: `set propagation of ${dest}`, configPath });
  }
  e.closeScratch(step);
}

/** Moves the container into its rootfs: pivot_root, or MS_MOVE and chroot. */
export function emitEnterRoot(e: Emitter, spec: Spec, noPivot: boolean): void {
  const step = { what: noPivot ? 'move rootfs to / and chroot' : 'pivot_root into rootfs', configPath: 'root.path' };
  e.p.sys('fchdir', [e.root], step);
  if (noPivot) {
    e.mount(e.str('.'), e.str('/'), null, MS_MOVE, null, step);
    e.p.sys('chroot', [e.str('.')], step);
  } else {
    e.p.sys('pivot_root', [e.str('.'), e.str('.')], step);
    // The old root sits under the new one: detach it without letting the unmount
    // propagate to the host.
    e.mount(null, e.str('.'), null, MS_SLAVE | MS_REC, null, step);
    e.p.sys('umount2', [e.str('.'), MNT_DETACH], step);
  }
  e.p.sys('chdir', [e.str('/')], step);
  e.p.sys('close', [e.root], step);
  if (spec.root.readonly) {
    e.mount(null, e.str('/'), null, MS_BIND | MS_REMOUNT | MS_RDONLY, null, { what: 'remount rootfs read-only', configPath: 'root.readonly' });
  }
}
