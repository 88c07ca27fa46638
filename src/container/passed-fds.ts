import { RuntsError } from '../errors.js';

/**
 * The fds after stdio that a caller passes (LISTEN_FDS, --preserve-fds) must be ones it
 * really opened. Node opens its own (epoll, eventfd, pipes) in the lowest free numbers,
 * so a number the caller left free may hold one of the runtime's, which must never reach
 * the container. bin/runts counts the caller's fds before node starts.
 */
export function checkPassedFds(count: number, what: string): void {
  if (count === 0) return;
  const counted = process.env.RUNTS_CALLER_FDS;
  const open = counted !== undefined && /^\d+$/.test(counted) ? Number(counted) : undefined;
  if (open === undefined) {
    throw new RuntsError(`${what}: cannot tell which fds the caller passed: start runts through bin/runts`);
  }
  if (count > open) {
    throw new RuntsError(`${what}: fd ${3 + open} was not passed to runts (fds 3 to ${2 + count} must be open)`);
  }
}
