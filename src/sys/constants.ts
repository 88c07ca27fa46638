/**
 * Linux constants used by runts, in one place. Values are those of the kernel's UAPI
 * headers (identical on x86_64 and aarch64 unless noted).
 */

// clone(2) / unshare(2) / setns(2) namespace flags
export const CLONE_NEWTIME = 0x00000080;
export const CLONE_FS = 0x00000200;
export const CLONE_NEWNS = 0x00020000;
export const CLONE_NEWCGROUP = 0x02000000;
export const CLONE_NEWUTS = 0x04000000;
export const CLONE_NEWIPC = 0x08000000;
export const CLONE_NEWUSER = 0x10000000;
export const CLONE_NEWPID = 0x20000000;
export const CLONE_NEWNET = 0x40000000;
export const CLONE_PARENT = 0x00008000;

// mount(2) flags
export const MS_RDONLY = 0x1;
export const MS_NOSUID = 0x2;
export const MS_NODEV = 0x4;
export const MS_NOEXEC = 0x8;
export const MS_SYNCHRONOUS = 0x10;
export const MS_REMOUNT = 0x20;
export const MS_MANDLOCK = 0x40;
export const MS_DIRSYNC = 0x80;
export const MS_NOSYMFOLLOW = 0x100;
export const MS_NOATIME = 0x400;
export const MS_NODIRATIME = 0x800;
export const MS_BIND = 0x1000;
export const MS_MOVE = 0x2000;
export const MS_REC = 0x4000;
export const MS_SILENT = 0x8000;
export const MS_UNBINDABLE = 0x20000;
export const MS_PRIVATE = 0x40000;
export const MS_SLAVE = 0x80000;
export const MS_SHARED = 0x100000;
export const MS_RELATIME = 0x200000;
export const MS_STRICTATIME = 0x1000000;
export const MS_LAZYTIME = 0x2000000;
export const MS_POSIXACL = 0x10000;
export const MS_I_VERSION = 0x800000;

// mount_setattr(2) attributes
export const MOUNT_ATTR_RDONLY = 0x1;
export const MOUNT_ATTR_NOSUID = 0x2;
export const MOUNT_ATTR_NODEV = 0x4;
export const MOUNT_ATTR_NOEXEC = 0x8;
export const MOUNT_ATTR__ATIME = 0x70;
export const MOUNT_ATTR_RELATIME = 0x0;
export const MOUNT_ATTR_NOATIME = 0x10;
export const MOUNT_ATTR_STRICTATIME = 0x20;
export const MOUNT_ATTR_NODIRATIME = 0x80;
export const MOUNT_ATTR_IDMAP = 0x100000;
export const MOUNT_ATTR_NOSYMFOLLOW = 0x200000;
export const AT_RECURSIVE = 0x8000;

// umount2(2)
export const MNT_DETACH = 0x2;

// open(2) and *at(2)
export const O_RDONLY = 0x0;
export const O_WRONLY = 0x1;
export const O_RDWR = 0x2;
export const O_CREAT = 0x40;
export const O_EXCL = 0x80;
export const O_NOCTTY = 0x100;
export const O_TRUNC = 0x200;
export const O_NONBLOCK = 0x800;
export const O_DIRECTORY = 0x10000;
export const O_NOFOLLOW = 0x20000;
export const O_CLOEXEC = 0x80000;
export const O_PATH = 0x200000;
export const AT_FDCWD = -100;
export const AT_EMPTY_PATH = 0x1000;
export const AT_SYMLINK_NOFOLLOW = 0x100;

// openat2(2) resolve flags
export const RESOLVE_NO_XDEV = 0x01;
export const RESOLVE_NO_MAGICLINKS = 0x02;
export const RESOLVE_NO_SYMLINKS = 0x04;
export const RESOLVE_BENEATH = 0x08;
export const RESOLVE_IN_ROOT = 0x10;

// file types for mknod(2)
export const S_IFMT = 0o170000;
export const S_IFDIR = 0o040000;
export const S_IFCHR = 0o020000;
export const S_IFBLK = 0o060000;
export const S_IFREG = 0o100000;
export const S_IFIFO = 0o010000;

// statx(2): the mask bits asked for, and where struct statx keeps the fields read
export const STATX_TYPE = 0x1;
export const STATX_STRUCT_BYTES = 256;
export const STATX_MODE_OFFSET = 0x1c;
export const STATX_RDEV_MAJOR_OFFSET = 0x80;
export const STATX_RDEV_MINOR_OFFSET = 0x84;

// fcntl(2)
export const F_GETFD = 1;
export const F_SETFD = 2;
export const F_GETFL = 3;
export const F_SETFL = 4;
export const FD_CLOEXEC = 1;

// close_range(2)
export const CLOSE_RANGE_CLOEXEC = 0x4;

// prctl(2)
export const PR_SET_PDEATHSIG = 1;
export const PR_SET_DUMPABLE = 4;
export const PR_SET_KEEPCAPS = 8;
export const PR_SET_NAME = 15;
export const PR_CAPBSET_DROP = 24;
export const PR_SET_CHILD_SUBREAPER = 36;
export const PR_SET_NO_NEW_PRIVS = 38;
export const PR_CAP_AMBIENT = 47;
export const PR_CAP_AMBIENT_RAISE = 2;
export const PR_CAP_AMBIENT_CLEAR_ALL = 4;

// madvise(2)
export const MADV_DOFORK = 11;

// wait
export const WNOHANG = 1;
export const __WALL = 0x40000000;

// flock(2)
export const LOCK_SH = 1;
export const LOCK_EX = 2;
export const LOCK_NB = 4;
export const LOCK_UN = 8;

// sockets
export const AF_UNIX = 1;
// SCM_RIGHTS messages, for passing a pty master (sendmsg(2), cmsg(3))
export const SOL_SOCKET = 1;
/** struct timeval bounding a blocking send, and a unix socket's connect (asm-generic: 21 on x86_64 and aarch64). */
export const SO_SNDTIMEO = 21;
export const SCM_RIGHTS = 1;
export const MSG_CMSG_CLOEXEC = 0x40000000;

// terminal ioctls (asm-generic/ioctls.h)
export const TIOCSCTTY = 0x540e;
export const TIOCSWINSZ = 0x5414;
export const TIOCSPTLCK = 0x40045431;
export const TIOCGPTPEER = 0x5441;
export const SOCK_STREAM = 1;
export const SOCK_CLOEXEC = 0x80000;

// poll(2)
export const POLLIN = 0x1;

// ioctl on namespace files (linux/nsfs.h)
export const NS_GET_NSTYPE = 0xb703;

// capabilities (linux/capability.h)
export const LINUX_CAPABILITY_VERSION_3 = 0x20080522;

// pidfd
export const P_PIDFD = 3;

// signals
export const SIG_SETMASK = 2;
export const NSIG = 64;

// access(2)
export const X_OK = 1;

// seccomp(2) (linux/seccomp.h, linux/filter.h)
export const SECCOMP_SET_MODE_FILTER = 1;
export const SECCOMP_FILTER_FLAG_TSYNC = 1;
export const SECCOMP_FILTER_FLAG_LOG = 2;
export const SECCOMP_FILTER_FLAG_SPEC_ALLOW = 4;
export const SECCOMP_FILTER_FLAG_NEW_LISTENER = 8;
export const SECCOMP_FILTER_FLAG_TSYNC_ESRCH = 16;
export const SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV = 32;
export const BPF_MAXINSNS = 4096;

// memfd_create(2)
export const MFD_CLOEXEC = 1;

// open_tree(2) and move_mount(2)
export const OPEN_TREE_CLONE = 0x1;
export const MOVE_MOUNT_F_EMPTY_PATH = 0x4;
export const MOVE_MOUNT_T_EMPTY_PATH = 0x40;
/** sizeof(struct mount_attr) for mount_setattr(2) (MOUNT_ATTR_SIZE_VER0). */
export const MOUNT_ATTR_SIZE_VER0 = 32;
/** The longest path getcwd(2) returns, with its NUL. */
export const PATH_MAX = 4096;
/** struct statfs: f_flags, and its read-only bit (ST_RDONLY). */
export const STATFS_STRUCT_BYTES = 120;
export const STATFS_FLAGS_OFFSET = 80;
export const ST_RDONLY = 1;
/** statfs(2) f_type of procfs. */
export const PROC_SUPER_MAGIC = 0x9fa0;

// fsopen(2) / fsconfig(2) / fsmount(2)
export const FSOPEN_CLOEXEC = 0x1;
export const FSCONFIG_SET_FLAG = 0;
export const FSCONFIG_SET_STRING = 1;
export const FSCONFIG_CMD_CREATE = 6;
export const FSMOUNT_CLOEXEC = 0x1;

/** The signal a fork-like clone(2) child sends its parent when it exits. */
export const SIGCHLD = 17;
/** What ends a setup process or a hook past its bound. */
export const SIGKILL = 9;
