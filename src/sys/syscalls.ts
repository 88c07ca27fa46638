/**
 * System call numbers, per architecture. Only the *at forms are used, so one name means
 * the same call on x86_64 and aarch64.
 */
const x64 = {
  read: 0, write: 1, close: 3, ioctl: 16, rt_sigaction: 13, rt_sigprocmask: 14,
  getpid: 39, kill: 62, fcntl: 72, flock: 73, chdir: 80, fchdir: 81, umask: 95, setgroups: 116,
  setresuid: 117, setresgid: 119, setsid: 112, capset: 126, personality: 135, pivot_root: 155,
  prctl: 157, chroot: 161, mount: 165, umount2: 166, sethostname: 170, setdomainname: 171,
  exit_group: 231, openat: 257, mkdirat: 258, mknodat: 259, fchownat: 260, unlinkat: 263,
  symlinkat: 266, fchmodat: 268, faccessat: 269, unshare: 272, dup3: 292, prlimit64: 302,
  setns: 308, seccomp: 317, execve: 59, pidfd_open: 434, clone3: 435, close_range: 436,
  openat2: 437, mount_setattr: 442, open_tree: 428, move_mount: 429, sched_setaffinity: 203,
  ioprio_set: 251, sched_setattr: 314, pidfd_send_signal: 424, wait4: 61, statx: 332, sendmsg: 46, recvmsg: 47, pidfd_getfd: 438, keyctl: 250, set_mempolicy: 238,
  fsopen: 430, fsconfig: 431, fsmount: 432, getcwd: 79, statfs: 137, fstatfs: 138, execveat: 322, clone: 56, ppoll: 271, madvise: 28,
} as const;

export type SyscallName = keyof typeof x64;

const arm64: Record<SyscallName, number> = {
  read: 63, write: 64, close: 57, ioctl: 29, rt_sigaction: 134, rt_sigprocmask: 135,
  getpid: 172, kill: 129, fcntl: 25, flock: 32, chdir: 49, fchdir: 50, umask: 166, setgroups: 159,
  setresuid: 147, setresgid: 149, setsid: 157, capset: 91, personality: 92, pivot_root: 41,
  prctl: 167, chroot: 51, mount: 40, umount2: 39, sethostname: 161, setdomainname: 162,
  exit_group: 94, openat: 56, mkdirat: 34, mknodat: 33, fchownat: 54, unlinkat: 35,
  symlinkat: 36, fchmodat: 53, faccessat: 48, unshare: 97, dup3: 24, prlimit64: 261,
  setns: 268, seccomp: 277, execve: 221, pidfd_open: 434, clone3: 435, close_range: 436,
  openat2: 437, mount_setattr: 442, open_tree: 428, move_mount: 429, sched_setaffinity: 122,
  ioprio_set: 30, sched_setattr: 274, pidfd_send_signal: 424, wait4: 260, statx: 291, sendmsg: 211, recvmsg: 212, pidfd_getfd: 438, keyctl: 219, set_mempolicy: 237,
  fsopen: 430, fsconfig: 431, fsmount: 432, getcwd: 17, statfs: 43, fstatfs: 44, execveat: 281, clone: 220, ppoll: 73, madvise: 233,
};

const tables: Record<string, Record<SyscallName, number>> = { x64, arm64 };

export function syscallNumber(name: SyscallName): number {
  const table = tables[process.arch];
  if (!table) throw new Error(`unsupported architecture ${process.arch}`);
  return table[name];
}
