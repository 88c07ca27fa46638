import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { libc } from '../sys/libc.js';
import { MNT_DETACH } from '../sys/constants.js';

/** Where restore binds the rootfs for criu, in the state directory (runc's name). */
export const CRIU_ROOT = 'criu-root';

/** Undoes what a restore killed on the way left bound on `<dir>/criu-root`, every layer of it. */
export function unbindRestoreRoot(dir: string): void {
  const target = join(dir, CRIU_ROOT);
  if (!existsSync(target)) return;
  const sys = libc();
  // EINVAL: no longer a mount point
  for (let i = 0; i < 16 && sys.umount2(target, MNT_DETACH) === 0; i++);
}
