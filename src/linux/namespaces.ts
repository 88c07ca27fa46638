import { openSync, closeSync } from 'node:fs';
import type { LinuxNamespace, LinuxNamespaceType } from '../spec/types/config.js';
import {
  CLONE_FS, CLONE_NEWCGROUP, CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWTIME,
  CLONE_NEWUSER, CLONE_NEWUTS, NS_GET_NSTYPE, O_CLOEXEC, O_DIRECTORY, O_PATH, O_RDONLY,
} from '../sys/constants.js';
import { libc } from '../sys/libc.js';
import { syscallNumber } from '../sys/syscalls.js';
import { RuntsError } from '../errors.js';

/** Each namespace type: its clone flag and its name under /proc/<pid>/ns. */
export const NAMESPACES: Record<LinuxNamespaceType, { flag: number; proc: string }> = {
  user: { flag: CLONE_NEWUSER, proc: 'user' },
  pid: { flag: CLONE_NEWPID, proc: 'pid' },
  network: { flag: CLONE_NEWNET, proc: 'net' },
  ipc: { flag: CLONE_NEWIPC, proc: 'ipc' },
  uts: { flag: CLONE_NEWUTS, proc: 'uts' },
  mount: { flag: CLONE_NEWNS, proc: 'mnt' },
  cgroup: { flag: CLONE_NEWCGROUP, proc: 'cgroup' },
  time: { flag: CLONE_NEWTIME, proc: 'time' },
};

/**
 * The order namespaces are joined in: user first, since joining it grants the rights to
 * join the others it owns; mount last, since after it host paths are gone.
 */
const JOIN_ORDER: LinuxNamespaceType[] = ['user', 'ipc', 'uts', 'network', 'pid', 'cgroup', 'time', 'mount'];

export interface NamespacePlan {
  /** Flags for unshare(2) of the namespaces created new, without CLONE_NEWUSER. */
  unshareFlags: number;
  newUser: boolean;
  /** Namespaces joined by path, in join order, each with the config path it came from. */
  join: { type: LinuxNamespaceType; path: string; configPath: string }[];
}

export function planNamespaces(namespaces: LinuxNamespace[] = []): NamespacePlan {
  let unshareFlags = 0;
  let newUser = false;
  const join: NamespacePlan['join'] = [];
  namespaces.forEach((ns, i) => {
    const configPath = `linux.namespaces[${i}]`;
    if (ns.path) join.push({ type: ns.type, path: ns.path, configPath });
    else if (ns.type === 'user') newUser = true;
    else unshareFlags |= NAMESPACES[ns.type].flag;
  });
  join.sort((a, b) => JOIN_ORDER.indexOf(a.type) - JOIN_ORDER.indexOf(b.type));
  return { unshareFlags, newUser, join };
}

export function hasNamespace(namespaces: LinuxNamespace[] | undefined, type: LinuxNamespaceType): boolean {
  return (namespaces ?? []).some((n) => n.type === type);
}

/**
 * Opens a namespace file to join and checks that it is a namespace of the expected type
 * (NS_GET_NSTYPE), so that a wrong path fails at create with a clear error.
 */
export function openNamespace(type: LinuxNamespaceType, path: string, configPath: string): number {
  let fd: number;
  try {
    fd = openSync(path, O_RDONLY | O_CLOEXEC);
  } catch (err) {
    throw RuntsError.fromNode(`open ${type} namespace ${path}`, err, configPath);
  }
  const { ioctl, errno } = libc();
  const actual = ioctl(fd, NS_GET_NSTYPE, 0);
  if (actual < 0) {
    const e = errno();
    closeSync(fd);
    throw new RuntsError(`${path} is not a namespace file`, { errno: e, configPath });
  }
  if (actual !== NAMESPACES[type].flag) {
    closeSync(fd);
    const found = Object.entries(NAMESPACES).find(([, v]) => v.flag === actual)?.[0] ?? `0x${actual.toString(16)}`;
    throw new RuntsError(`${path} is a ${found} namespace, not a ${type} namespace`, { configPath });
  }
  return fd;
}

/**
 * Runs `fn` on this thread in the mount namespace of process `pid`, then comes back.
 * setns(2) into a mount namespace needs fs information of the thread's own (unshare
 * CLONE_FS; Node's other threads keep theirs) and moves the working directory, which is
 * restored after. `fn` must be synchronous: the threadpool stays in this namespace.
 */
export function inMountNamespaceOf<T>(pid: number, what: string, fn: () => T): T {
  const sys = libc();
  const call = (name: 'unshare' | 'setns' | 'fchdir', a: number, b = 0) => sys.syscall(syscallNumber(name), a, b, 0, 0, 0, 0);
  const fds: number[] = [];
  try {
    const open = (path: string, flags: number) => {
      fds.push(openSync(path, flags | O_CLOEXEC));
      return fds[fds.length - 1];
    };
    const own = open('/proc/self/ns/mnt', O_RDONLY);
    const target = open(`/proc/${pid}/ns/mnt`, O_RDONLY);
    const cwd = open('.', O_PATH | O_DIRECTORY);
    if (call('unshare', CLONE_FS) < 0) throw new RuntsError(`${what}: unshare fs information`, { errno: sys.errno() });
    if (call('setns', target, CLONE_NEWNS) < 0) throw new RuntsError(`${what}: join the container's mount namespace`, { errno: sys.errno() });
    try {
      return fn();
    } finally {
      // Without the way back, this process would go on in the container's mounts.
      if (call('setns', own, CLONE_NEWNS) < 0 || call('fchdir', cwd) < 0) {
        throw new RuntsError(`${what}: return to the runtime's mount namespace`, { errno: sys.errno() });
      }
    }
  } catch (err) {
    throw err instanceof RuntsError ? err : RuntsError.fromNode(what, err);
  } finally {
    for (const fd of fds) closeSync(fd);
  }
}
