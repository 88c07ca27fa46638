import { join } from 'node:path';
import { RuntsError } from '../errors.js';
import { DEFAULT_ROOT } from '../version.js';
import { runningInUserNamespace } from '../linux/userns.js';
import { userBusUid } from '../linux/cgroups/systemd.js';

/**
 * Rootless mode, decided as runc decides it (runc's rootless_linux.go and main.go): a
 * runtime that is not the host's root cannot make or write cgroups it was not given, and
 * keeps its state under the user's own runtime directory.
 */

export { runningInUserNamespace };

/** Who runs runts: taken from the process, or given by a unit test. */
export interface Caller {
  euid: number;
  env: NodeJS.ProcessEnv;
  inUserNamespace: () => boolean;
  /** Who the user bus says the caller is on the host (asked only when needed). */
  userBusUid: () => number | undefined;
}

const self = (): Caller => ({ euid: process.geteuid!(), env: process.env, inUserNamespace: () => runningInUserNamespace(), userBusUid });

/**
 * runc's shouldHonorXDGRuntimeDir: a non-root user's state goes under $XDG_RUNTIME_DIR;
 * the host's root keeps /run/runts even with one set (/run/user/0); root of a user
 * namespace uses it unless $USER says root.
 */
function honorsXdg(c: Caller): boolean {
  if (!c.env.XDG_RUNTIME_DIR) return false;
  if (c.euid !== 0) return true;
  if (!c.inUserNamespace()) return false;
  return c.env.USER !== 'root';
}

/**
 * The default `--root`: `$XDG_RUNTIME_DIR/runts` where runc would use
 * `$XDG_RUNTIME_DIR/runc`, else /run/runts (a non-root user without XDG_RUNTIME_DIR then
 * fails to write there, as with runc).
 */
export function defaultRoot(c: Caller = self()): string {
  return honorsXdg(c) ? join(c.env.XDG_RUNTIME_DIR!, 'runts') : DEFAULT_ROOT;
}

/** Whether `root` is the default one under $XDG_RUNTIME_DIR, which runc keeps 0700 and sticky. */
export function isXdgRoot(root: string, c: Caller = self()): boolean {
  return honorsXdg(c) && root === join(c.env.XDG_RUNTIME_DIR!, 'runts');
}

/**
 * `--rootless true|false|auto` as runc reads it (strconv.ParseBool's spellings, `auto` or
 * empty for auto). auto: rootless when the effective uid is not 0, or when root of a user
 * namespace that is not the initial one (root there cannot have been given the host's
 * cgroups). With --systemd-cgroup, root of a user namespace is rootless when the user bus
 * says it is another user on the host (runc's DetectUID: a rootless engine's runtime, whose
 * scope goes to that user's manager); without a user bus, it is taken to be the host's root.
 */
export function decideRootless(value: string | undefined, systemdCgroup: boolean, c: Caller = self()): boolean {
  const v = value ?? 'auto';
  if (v === '' || v.toLowerCase() === 'auto') {
    if (c.euid !== 0) return true;
    if (!c.inUserNamespace()) return false;
    if (!systemdCgroup) return true;
    const uid = c.userBusUid();
    return uid !== undefined && uid !== 0;
  }
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  throw new RuntsError(`--rootless: invalid value ${JSON.stringify(v)}: expected true, false or auto`);
}
