import { readFileSync } from 'node:fs';
import type { Spec } from '../spec/types/config.js';
import { RuntsError } from '../errors.js';

/**
 * linux.intelRdt. The spec has the runtime fail when no resctrl filesystem is mounted in
 * its mount namespace; runts does not write resctrl groups yet, so on a host that has one
 * the config is refused too, rather than run the container without its cache and memory
 * bandwidth limits. Either way create fails before it makes anything, saying which.
 */

function read(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** Why this host and runts cannot give the container linux.intelRdt, or undefined without it. */
export function intelRdtProblem(spec: Spec): string | undefined {
  if (!spec.linux?.intelRdt) return undefined;
  if (!/\bresctrl$/m.test(read('/proc/filesystems'))) {
    return 'this kernel has no resctrl filesystem (Intel RDT, AMD QoS): not in /proc/filesystems';
  }
  const mounted = read('/proc/self/mountinfo').split('\n').find((l) => / - resctrl /.test(l));
  if (!mounted) return 'no resctrl filesystem is mounted in the runtime\'s mount namespace (mount -t resctrl resctrl /sys/fs/resctrl)';
  return `runts does not implement Intel RDT (resctrl is mounted on ${mounted.split(' ')[4]})`;
}

export function checkIntelRdt(spec: Spec): void {
  const problem = intelRdtProblem(spec);
  if (problem !== undefined) throw new RuntsError(problem, { configPath: 'linux.intelRdt' });
}
