import koffi from 'koffi';

/**
 * The few system calls the benchmark makes itself: starting and reaping the commands it
 * measures, becoming the reaper of the containers' orphaned processes, and waiting for a
 * container's process to exit without being its parent. The benchmark keeps its own
 * bindings so that it measures the runtime without depending on the runtime's internals.
 */
export interface BenchLibc {
  /**
   * Makes this process the reaper of orphaned descendants. A detached container's init is
   * orphaned once the runtime's CLI exits; without a subreaper it would go to the host's
   * pid 1, which on some machines never reaps, and every sample would leave a zombie.
   */
  becomeSubreaper(): void;
  /** Reaps every exited child without blocking. */
  reapExited(): void;
  /**
   * Waits up to `timeoutMs` for the process behind `pidfd` to exit, parent or not (a pidfd
   * works for any process). Returns the CLOCK_MONOTONIC time (ns) at which the exit was
   * seen, or null on time-out. A pidfd of -1 (the process was already gone) means now.
   */
  waitExit(pidfd: number, timeoutMs: number): bigint | null;
  /**
   * Waits up to `timeoutMs` for any of `pidfds` to exit. Returns those whose process has,
   * none on time-out.
   */
  waitAnyExit(pidfds: readonly number[], timeoutMs: number): number[];
  /** A pidfd for `pid`, or -1 if the process is already gone. */
  pidfdOpen(pid: number): number;
  /**
   * Reaps the child `pid`, which has exited (its pidfd said so): its wait status, and the
   * CPU time (user + system, ms) it and the children it waited for used.
   */
  reap(pid: number): { status: number; cpuMs: number };
  close(fd: number): void;
  /**
   * A way to start commands with stdin from /dev/null and stdout and stderr on `out` and
   * `err`, in the environment `env` ("NAME=value" strings).
   */
  spawner(env: readonly string[], out: number, err: number): Spawner;
}

/**
 * posix_spawn(3), set up once for a batch of commands. glibc starts the child with
 * CLONE_VM|CLONE_VFORK on a stack of its own and the child only execs: Node's other
 * threads and its MADV_DONTFORK heap do not matter, as they would for a fork() (see
 * src/sys/fork.ts), and the cost does not grow with Node's size, since no page table is
 * copied. Each command gets:
 * - a session of its own, so that a Ctrl-C at the terminal reaches only the benchmark,
 *   which then cleans up, and never a runtime halfway through creating a container;
 * - every signal at its default and none blocked: Node ignores SIGPIPE, and an ignored
 *   signal would stay ignored across execve, in the runtime and in its container;
 * - fds 0, 1 and 2 and no other, whatever Node holds open.
 */
export interface Spawner {
  /** Starts argv[0] (a path; PATH is not searched): its pid, or the errno that stopped it. */
  spawn(argv: readonly string[]): { pid: number } | { errno: number };
  /** Frees what glibc allocated for the file actions. */
  close(): void;
}

const PR_SET_CHILD_SUBREAPER = 36;
const WNOHANG = 1;
const POLLIN = 0x1;
const O_RDONLY = 0;
const POSIX_SPAWN_SETSIGDEF = 0x04;
const POSIX_SPAWN_SETSIGMASK = 0x08;
const POSIX_SPAWN_SETSID = 0x80;
// glibc's posix_spawnattr_t and posix_spawn_file_actions_t are 336 and 80 bytes on 64-bit
// targets, less on 32-bit ones; sigset_t is 128 bytes everywhere.
const SPAWNATTR_SIZE = 512;
const FILE_ACTIONS_SIZE = 512;
const SIGSET_SIZE = 128;
const EINTR = 4;
const ESRCH = 3;
// pidfd_open has the same number on every architecture (the syscall table was unified at 424).
const SYS_PIDFD_OPEN = 434;

/** sizeof(struct rusage) on 64-bit Linux. */
const RUSAGE_SIZE = 144;

let cached: BenchLibc | undefined;

export function benchLibc(): BenchLibc {
  if (cached) return cached;
  const lib = koffi.load('libc.so.6');
  const prctl = lib.func('int prctl(int, unsigned long, unsigned long, unsigned long, unsigned long)');
  const waitpid = lib.func('int waitpid(int, void *, int)');
  const wait4 = lib.func('int wait4(int, void *, int, void *)');
  const syscall = lib.func('long syscall(long, long, long)');
  const poll = lib.func('int poll(void *, unsigned long, int)');
  const close = lib.func('int close(int)');
  const posixSpawn = lib.func(
    'int posix_spawn(_Out_ int *pid, const char *path, void *fileActions, void *attr, const char **argv, const char **envp)',
  );
  const fileActionsInit = lib.func('int posix_spawn_file_actions_init(void *)');
  const fileActionsDestroy = lib.func('int posix_spawn_file_actions_destroy(void *)');
  const addOpen = lib.func('int posix_spawn_file_actions_addopen(void *, int, const char *, int, uint32_t)');
  const addDup2 = lib.func('int posix_spawn_file_actions_adddup2(void *, int, int)');
  // glibc 2.34 and later.
  const addCloseFrom = lib.func('int posix_spawn_file_actions_addclosefrom_np(void *, int)');
  const attrInit = lib.func('int posix_spawnattr_init(void *)');
  const attrSetFlags = lib.func('int posix_spawnattr_setflags(void *, short)');
  const attrSetSigDefault = lib.func('int posix_spawnattr_setsigdefault(void *, void *)');
  const attrSetSigMask = lib.func('int posix_spawnattr_setsigmask(void *, void *)');
  const sigFillSet = lib.func('int sigfillset(void *)');
  const sigEmptySet = lib.func('int sigemptyset(void *)');

  // The same for every command, so set up once. posix_spawn* return an error number
  // rather than setting errno.
  const check = (what: string, err: number): void => {
    if (err !== 0) throw new Error(`${what} failed: errno ${err}`);
  };
  const attr = Buffer.alloc(SPAWNATTR_SIZE);
  const allSignals = Buffer.alloc(SIGSET_SIZE);
  const noSignals = Buffer.alloc(SIGSET_SIZE);
  sigFillSet(allSignals);
  sigEmptySet(noSignals);
  check('posix_spawnattr_init', attrInit(attr));
  check('posix_spawnattr_setflags', attrSetFlags(attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK));
  check('posix_spawnattr_setsigdefault', attrSetSigDefault(attr, allSignals));
  check('posix_spawnattr_setsigmask', attrSetSigMask(attr, noSignals));

  /** poll(2) for POLLIN on `fds` until one is ready or `timeoutMs` has passed; the ready ones. */
  const pollIn = (fds: readonly number[], timeoutMs: number): number[] => {
    const pollfds = Buffer.alloc(8 * fds.length);
    fds.forEach((fd, i) => {
      pollfds.writeInt32LE(fd, 8 * i);
      pollfds.writeInt16LE(POLLIN, 8 * i + 4);
    });
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) return [];
      const r = poll(pollfds, fds.length, left);
      if (r > 0) return fds.filter((_, i) => pollfds.readInt16LE(8 * i + 6) !== 0);
      if (r < 0 && koffi.errno() !== EINTR) {
        throw new Error(`poll on pidfd failed: errno ${koffi.errno()}`);
      }
    }
  };

  cached = {
    becomeSubreaper() {
      if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) !== 0) {
        throw new Error(`prctl(PR_SET_CHILD_SUBREAPER) failed: errno ${koffi.errno()}`);
      }
    },
    reapExited() {
      for (;;) if (waitpid(-1, null, WNOHANG) <= 0) return;
    },
    pidfdOpen(pid) {
      const fd = Number(syscall(SYS_PIDFD_OPEN, pid, 0));
      if (fd < 0 && koffi.errno() !== ESRCH) {
        throw new Error(`pidfd_open failed: errno ${koffi.errno()} (Linux 5.3 or later is needed)`);
      }
      return fd;
    },
    waitExit(pidfd, timeoutMs) {
      if (pidfd < 0) return process.hrtime.bigint();
      return pollIn([pidfd], timeoutMs).length > 0 ? process.hrtime.bigint() : null;
    },
    waitAnyExit: pollIn,
    reap(pid) {
      const status = Buffer.alloc(4);
      // struct rusage begins with ru_utime and ru_stime, two struct timevals (64-bit here)
      const usage = Buffer.alloc(RUSAGE_SIZE);
      for (;;) {
        if (wait4(pid, status, 0, usage) === pid) {
          const us = (at: number) => Number(usage.readBigInt64LE(at)) * 1e6 + Number(usage.readBigInt64LE(at + 8));
          return { status: status.readInt32LE(0), cpuMs: (us(0) + us(16)) / 1000 };
        }
        if (koffi.errno() !== EINTR) throw new Error(`wait4(${pid}) failed: errno ${koffi.errno()}`);
      }
    },
    close(fd) {
      if (fd >= 0) close(fd);
    },
    spawner(env, out, err) {
      const actions = Buffer.alloc(FILE_ACTIONS_SIZE);
      check('posix_spawn_file_actions_init', fileActionsInit(actions));
      try {
        check('posix_spawn_file_actions_addopen', addOpen(actions, 0, '/dev/null', O_RDONLY, 0));
        check('posix_spawn_file_actions_adddup2', addDup2(actions, out, 1));
        check('posix_spawn_file_actions_adddup2', addDup2(actions, err, 2));
        check('posix_spawn_file_actions_addclosefrom_np', addCloseFrom(actions, 3));
      } catch (e) {
        fileActionsDestroy(actions);
        throw e;
      }
      const envp = [...env, null];
      const pid = [0];
      return {
        spawn(argv) {
          const errno = posixSpawn(pid, argv[0], actions, attr, [...argv, null], envp);
          return errno === 0 ? { pid: pid[0] } : { errno };
        },
        close() {
          fileActionsDestroy(actions);
        },
      };
    },
  };
  return cached;
}
