import { closeSync } from 'node:fs';
import type { LinuxIDMapping, Mount, Spec } from '../spec/types/config.js';
import { RuntsError } from '../errors.js';
import { libc } from '../sys/libc.js';
import { syscallNumber } from '../sys/syscalls.js';
import {
  AT_EMPTY_PATH, AT_FDCWD, AT_RECURSIVE, MOUNT_ATTR_IDMAP, MOUNT_ATTR_SIZE_VER0, MS_BIND, MS_REC, O_CLOEXEC, OPEN_TREE_CLONE,
} from '../sys/constants.js';
import { mountAttr, parseMountOptions } from './mount-options.js';
import { openNamespace } from './namespaces.js';
import { bindSource } from './mounts.js';

/**
 * Id-mapped mounts: mounts[] with idmap or ridmap, or with their own uidMappings and
 * gidMappings. mount_setattr(MOUNT_ATTR_IDMAP) needs privilege over the source's
 * filesystem, which the container's init, root only in its own user namespace, does not
 * have. So, as runc does, the runtime makes each one itself before the container's
 * processes exist: a detached copy of the source (open_tree OPEN_TREE_CLONE) with the
 * idmapping applied. The init inherits its fd and moves it into place (mounts.ts).
 */

/**
 * Whose ids the mount shows: given mappings, with the config path that holds them
 * ("mounts[2]", "linux"), or a user namespace to open.
 */
export type IdmapUsers =
  | { uidMappings: LinuxIDMapping[]; gidMappings: LinuxIDMapping[]; owner: string }
  | { path: string; configPath: string };

export interface IdmappedMount {
  /** The index in mounts[]. */
  index: number;
  source: string;
  /** rbind: the source's submounts come along. */
  recursiveTree: boolean;
  /** ridmap: the submounts are id-mapped too. */
  recursiveIdmap: boolean;
  users: IdmapUsers;
}

export function isIdmapped(m: Mount): boolean {
  return parseMountOptions(m.options).idmap !== 'none' || m.uidMappings !== undefined || m.gidMappings !== undefined;
}

/**
 * The id-mapped mounts of a config, in plain data. Without mappings of its own a mount
 * takes the container's user namespace: the mappings of a new one, or the joined one.
 */
export function planIdmappedMounts(spec: Spec, bundle: string): IdmappedMount[] {
  const plans: IdmappedMount[] = [];
  (spec.mounts ?? []).forEach((m, index) => {
    if (!isIdmapped(m)) return;
    const configPath = `mounts[${index}]`;
    const o = parseMountOptions(m.options);
    if (!(o.flags & MS_BIND) && m.type !== 'bind') {
      throw new RuntsError('an id-mapped mount must be a bind mount (options bind or rbind)', { configPath });
    }
    if ((m.uidMappings === undefined) !== (m.gidMappings === undefined)) {
      throw new RuntsError('uidMappings and gidMappings of an id-mapped mount go together', { configPath });
    }
    const userNs = spec.linux?.namespaces?.find((n) => n.type === 'user');
    let users: IdmapUsers;
    if (m.uidMappings && m.gidMappings) {
      users = { uidMappings: m.uidMappings, gidMappings: m.gidMappings, owner: configPath };
    } else if (userNs?.path) {
      users = { path: userNs.path, configPath: 'linux.namespaces' };
    } else if (userNs) {
      users = { uidMappings: spec.linux?.uidMappings ?? [], gidMappings: spec.linux?.gidMappings ?? [], owner: 'linux' };
    } else {
      throw new RuntsError(`${o.idmap} needs the mount's uidMappings and gidMappings, or a user namespace`, { configPath: `${configPath}.options` });
    }
    plans.push({
      index, source: bindSource(m, bundle), recursiveTree: (o.flags & MS_REC) !== 0, recursiveIdmap: o.idmap === 'ridmap', users,
    });
  });
  return plans;
}

/** Makes a user namespace with the given mappings and returns an fd of it. */
export type UserNamespaceMaker = (uidMappings: LinuxIDMapping[], gidMappings: LinuxIDMapping[], owner: string) => number;

/**
 * Opens each planned mount as a detached, id-mapped tree; returns mount index → fd. Mounts
 * that share mappings share one user namespace. On failure every fd opened is closed.
 */
export function openIdmappedMounts(plans: IdmappedMount[], makeUserNamespace: UserNamespaceMaker): Map<number, number> {
  const trees = new Map<number, number>();
  const namespaces = new Map<string, number>();
  const sys = libc();
  const cstr = (s: string) => Buffer.from(`${s}\0`);
  try {
    for (const plan of plans) {
      const key = JSON.stringify(plan.users);
      let userns = namespaces.get(key);
      if (userns === undefined) {
        const u = plan.users;
        userns = 'path' in u ? openNamespace('user', u.path, u.configPath) : makeUserNamespace(u.uidMappings, u.gidMappings, u.owner);
        namespaces.set(key, userns);
      }
      const configPath = `mounts[${plan.index}]`;
      const path = cstr(plan.source);
      const tree = sys.syscall(syscallNumber('open_tree'), AT_FDCWD, sys.address(path),
        OPEN_TREE_CLONE | O_CLOEXEC | (plan.recursiveTree ? AT_RECURSIVE : 0), 0, 0, 0);
      if (tree < 0) throw new RuntsError(`open bind source ${plan.source}`, { errno: sys.errno(), configPath: `${configPath}.source` });
      trees.set(plan.index, tree);
      const empty = cstr('');
      const attr = mountAttr(MOUNT_ATTR_IDMAP, 0, 0, userns);
      const r = sys.syscall(syscallNumber('mount_setattr'), tree, sys.address(empty),
        AT_EMPTY_PATH | (plan.recursiveIdmap ? AT_RECURSIVE : 0), sys.address(attr), MOUNT_ATTR_SIZE_VER0, 0);
      if (r < 0) throw new RuntsError(`id-map the mount of ${plan.source}`, { errno: sys.errno(), configPath });
    }
    return trees;
  } catch (err) {
    for (const fd of trees.values()) closeSync(fd);
    throw err;
  } finally {
    for (const fd of namespaces.values()) closeSync(fd);
  }
}
