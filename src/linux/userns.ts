import { readFileSync } from 'node:fs';

/**
 * Whether this process runs in a user namespace other than the initial one: one whose
 * uid_map is not the identity over every id (`0 0 4294967295`). Without the file (no user
 * namespaces in the kernel) it is the initial one.
 */
export function runningInUserNamespace(uidMap?: string): boolean {
  let text = uidMap;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/uid_map', 'utf8');
    } catch {
      return false;
    }
  }
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  return !(lines.length === 1 && lines[0].trim().split(/\s+/).join(' ') === '0 0 4294967295');
}
