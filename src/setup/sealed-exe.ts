import { RuntsError } from '../errors.js';
import { libc } from '../sys/libc.js';
import { syscallNumber } from '../sys/syscalls.js';
import {
  AT_EMPTY_PATH, AT_FDCWD, F_SETFD, MOUNT_ATTR_RDONLY, MOUNT_ATTR_SIZE_VER0, O_CLOEXEC, OPEN_TREE_CLONE,
  STATFS_FLAGS_OFFSET, STATFS_STRUCT_BYTES, ST_RDONLY,
} from '../sys/constants.js';
import { EPERM } from '../sys/errno.js';

/**
 * CVE-2019-5736. Every process that enters a container runs the runtime's executable —
 * node — until it execs the container's process, and a container can reach that file
 * through /proc/<pid>/exe or an entrypoint of "#!/proc/self/exe", keep it open and write
 * to it once the runtime has exited. So a command that enters a container first
 * re-executes node from a read-only clone of its own file: a detached bind mount
 * (open_tree) made read-only, which no path reaches and only CAP_SYS_ADMIN on the host
 * could make writable again; opening the file for writing through it fails with EROFS.
 * runc 1.2 does the same with a read-only overlay. Costs one more start of node.
 */

const EXE = '/proc/self/exe';
const SINGLE_THREADED = '--single-threaded';

function cString(s: string): Buffer {
  return Buffer.from(`${s}\0`, 'utf8');
}

/** A NULL-terminated array of pointers to `strings`; `keep` holds the memory alive. */
function pointerArray(strings: string[], keep: Buffer[]): Buffer {
  const sys = libc();
  const array = Buffer.alloc(8 * (strings.length + 1));
  strings.forEach((s, i) => {
    const b = cString(s);
    keep.push(b);
    array.writeBigUInt64LE(sys.address(b), 8 * i);
  });
  keep.push(array);
  return array;
}

/** Whether this process's executable sits on a read-only mount. */
export function executableIsSealed(): boolean {
  const sys = libc();
  const buf = Buffer.alloc(STATFS_STRUCT_BYTES);
  const path = cString(EXE);
  if (sys.syscall(syscallNumber('statfs'), sys.address(path), sys.address(buf), 0, 0, 0, 0) < 0) {
    throw new RuntsError(`statfs ${EXE}`, { errno: sys.errno() });
  }
  return (buf.readBigUInt64LE(STATFS_FLAGS_OFFSET) & BigInt(ST_RDONLY)) !== 0n;
}

/**
 * Returns when node already runs from a read-only file; otherwise replaces this process
 * (same pid, arguments, environment and the caller's fds) with node run from a read-only
 * clone of its executable, and never returns.
 */
export function ensureSealedExecutable(callerFds: number): void {
  if (executableIsSealed()) return;
  const sys = libc();
  const keep: Buffer[] = [];
  const nr = (name: Parameters<typeof syscallNumber>[0]) => syscallNumber(name);
  const tree = sys.syscall(nr('open_tree'), AT_FDCWD, sys.address(cString(EXE)), OPEN_TREE_CLONE | O_CLOEXEC, 0, 0, 0);
  if (tree < 0) {
    const errno = sys.errno();
    // Unprivileged, no mount can be made; a file the caller cannot write is safe as it is.
    if (errno === EPERM && !writable()) return;
    if (errno === EPERM) {
      // A container's root is the caller here: it could write the file through /proc/<pid>/exe.
      throw new RuntsError(`rootless: node (${process.execPath}) is writable by this user and cannot be cloned read-only without privilege; run runts with a node the user cannot write`);
    }
    throw new RuntsError('clone the runtime\'s executable read-only', { errno });
  }
  const attr = Buffer.alloc(MOUNT_ATTR_SIZE_VER0);
  attr.writeBigUInt64LE(BigInt(MOUNT_ATTR_RDONLY), 0);
  const empty = cString('');
  keep.push(attr, empty);
  if (sys.syscall(nr('mount_setattr'), tree, sys.address(empty), AT_EMPTY_PATH, sys.address(attr), MOUNT_ATTR_SIZE_VER0, 0) < 0) {
    throw new RuntsError('make the runtime\'s executable read-only', { errno: sys.errno() });
  }
  // Node marks stdio and inherited fds close-on-exec; the new node must get them back.
  for (let fd = 0; fd < 3 + callerFds; fd++) sys.syscall(nr('fcntl'), fd, F_SETFD, 0, 0, 0, 0);
  // V8 in one thread: its other threads would map heap pages while this process forks its
  // setup processes (src/sys/fork.ts), and a forked child runs no thread but the one.
  const v8 = process.execArgv.includes(SINGLE_THREADED) ? process.execArgv : [...process.execArgv, SINGLE_THREADED];
  const argv = pointerArray([process.argv0, ...v8, ...process.argv.slice(1)], keep);
  const envp = pointerArray(Object.entries(process.env).map(([k, v]) => `${k}=${v}`), keep);
  sys.syscall(nr('execveat'), tree, sys.address(empty), sys.address(argv), sys.address(envp), AT_EMPTY_PATH, 0);
  throw new RuntsError('run the runtime from its read-only executable', { errno: sys.errno() });
}

/** Whether this process could open its own executable for writing (access(2), W_OK). */
function writable(): boolean {
  const sys = libc();
  return sys.syscall(syscallNumber('faccessat'), AT_FDCWD, sys.address(cString(EXE)), 2, 0, 0, 0) === 0;
}
