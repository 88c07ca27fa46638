import { readdirSync, readlinkSync } from 'node:fs';
import type { Sandbox } from '../helpers/containers.js';

/**
 * Shared by the attacks in test/security/: each file attacks one class of escape that
 * runc and crun have had as a CVE. Each test first shows that the attack reaches the host
 * (its decoy: the escape would work on a runtime without the defence), then that runts
 * refuses it. docs/security.md explains each defence.
 */

export function initPid(sb: Sandbox, id: string): number {
  return sb.state(id).pid;
}

/** The fds a process holds, with what they point to. */
export function fdsOf(pid: number): Map<number, string> {
  const fds = new Map<number, string>();
  for (const n of readdirSync(`/proc/${pid}/fd`)) {
    try {
      fds.set(Number(n), readlinkSync(`/proc/${pid}/fd/${n}`));
    } catch {
      // closed meanwhile
    }
  }
  return fds;
}
