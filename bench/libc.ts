import koffi from 'koffi';

/**
 * The few system calls the benchmark makes itself: becoming the reaper of the containers'
 * orphaned processes, and waiting for a container's process to exit without being its
 * parent. The benchmark keeps its own bindings so that it measures the runtime without
 * depending on the runtime's internals.
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
  /** A pidfd for `pid`, or -1 if the process is already gone. */
  pidfdOpen(pid: number): number;
  close(fd: number): void;
}

const PR_SET_CHILD_SUBREAPER = 36;
const WNOHANG = 1;
const POLLIN = 0x1;
const EINTR = 4;
const ESRCH = 3;
// pidfd_open has the same number on every architecture (the syscall table was unified at 424).
const SYS_PIDFD_OPEN = 434;

let cached: BenchLibc | undefined;

export function benchLibc(): BenchLibc {
  if (cached) return cached;
  const lib = koffi.load('libc.so.6');
  const prctl = lib.func('int prctl(int, unsigned long, unsigned long, unsigned long, unsigned long)');
  const waitpid = lib.func('int waitpid(int, void *, int)');
  const syscall = lib.func('long syscall(long, long, long)');
  const poll = lib.func('int poll(void *, unsigned long, int)');
  const close = lib.func('int close(int)');
  const pollfd = Buffer.alloc(8);

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
      pollfd.writeInt32LE(pidfd, 0);
      pollfd.writeInt16LE(POLLIN, 4);
      pollfd.writeInt16LE(0, 6);
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const left = deadline - Date.now();
        if (left <= 0) return null;
        const r = poll(pollfd, 1, left);
        if (r > 0) return process.hrtime.bigint();
        if (r < 0 && koffi.errno() !== EINTR) {
          throw new Error(`poll on pidfd failed: errno ${koffi.errno()}`);
        }
      }
    },
    close(fd) {
      if (fd >= 0) close(fd);
    },
  };
  return cached;
}
