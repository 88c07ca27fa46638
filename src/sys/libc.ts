import { koffi } from './koffi.js';

/**
 * The thin koffi layer: every libc function runts calls, bound once, lazily. Nothing else
 * in runts loads koffi, so a command that needs no system call does not pay for it.
 */
export interface Libc {
  /** syscall(2) with six integer arguments; pointers are passed as addresses. */
  syscall: (nr: number, a: Arg, b: Arg, c: Arg, d: Arg, e: Arg, f: Arg) => number;
  errno: () => number;
  fork: () => number;
  waitpid: (pid: number, status: Buffer | null, options: number) => number;
  waitpidAsync: (pid: number, status: Buffer, options: number, cb: (err: unknown, r: number) => void) => void;
  kill: (pid: number, sig: number) => number;
  madvise: (addr: Arg, len: Arg, advice: number) => number;
  flock: (fd: number, op: number) => number;
  socketpair: (domain: number, type: number, protocol: number, fds: Buffer) => number;
  socket: (domain: number, type: number, protocol: number) => number;
  connect: (fd: number, addr: Buffer, len: number) => number;
  setsockopt: (fd: number, level: number, name: number, value: Buffer, len: number) => number;
  /** recvmsg(2) with a prepared struct msghdr whose pointers are addresses. */
  recvmsg: (fd: number, msg: Buffer, flags: number) => number;
  mkfifo: (path: string, mode: number) => number;
  mount: (source: string, target: string, type: string | null, flags: number, data: string | null) => number;
  umount2: (target: string, flags: number) => number;
  pipe2: (fds: Buffer, flags: number) => number;
  poll: (fds: Buffer, n: number, timeout: number) => number;
  prctl: (op: number, a: Arg, b: Arg, c: Arg, d: Arg) => number;
  ioctl: (fd: number, req: number, arg: Arg) => number;
  /** The address of a Buffer's memory, for passing pointers as integers. */
  address: (buf: Buffer) => bigint;
}

export type Arg = number | bigint;

let cached: Libc | undefined;

export function libc(): Libc {
  if (cached) return cached;
  const k = koffi();
  const lib = k.load('libc.so.6');
  const waitpid = lib.func('int waitpid(int, void *, int)');
  cached = {
    syscall: lib.func('long syscall(long, intptr_t, intptr_t, intptr_t, intptr_t, intptr_t, intptr_t)'),
    errno: () => k.errno(),
    fork: lib.func('int fork(void)'),
    waitpid: (pid, status, options) => waitpid(pid, status, options),
    waitpidAsync: (pid, status, options, cb) => waitpid.async(pid, status, options, cb),
    kill: lib.func('int kill(int, int)'),
    madvise: lib.func('int madvise(intptr_t, size_t, int)'),
    flock: lib.func('int flock(int, int)'),
    socketpair: lib.func('int socketpair(int, int, int, void *)'),
    socket: lib.func('int socket(int, int, int)'),
    connect: lib.func('int connect(int, const void *, uint32_t)'),
    setsockopt: lib.func('int setsockopt(int, int, int, const void *, uint32_t)'),
    recvmsg: lib.func('long recvmsg(int, void *, int)'),
    mkfifo: lib.func('int mkfifo(const char *, uint32_t)'),
    mount: lib.func('int mount(const char *, const char *, const char *, unsigned long, const char *)'),
    umount2: lib.func('int umount2(const char *, int)'),
    pipe2: lib.func('int pipe2(void *, int)'),
    poll: lib.func('int poll(void *, unsigned long, int)'),
    prctl: lib.func('int prctl(int, unsigned long, unsigned long, unsigned long, unsigned long)'),
    ioctl: lib.func('int ioctl(int, unsigned long, intptr_t)'),
    address: (buf) => k.address(buf),
  };
  return cached;
}

/** libc when something has loaded it already, without loading koffi for it. */
export function loadedLibc(): Libc | undefined {
  return cached;
}
