import type { Emitter } from '../program/emit.js';
import { ENOSYS } from '../sys/errno.js';

/**
 * The container's session keyring. Unless create was given --no-new-keyring, the init
 * joins a new session keyring named `_ses.<id>` (and an exec'd process the same one), as
 * runc does: otherwise the container would share the session keyring of whoever ran the
 * runtime, and the keys in it. The keyring is made searchable by its owner (in a user
 * namespace: by others), the permission runc adds, so that a process that has switched to
 * another user can still use it. A kernel without keys (ENOSYS) is let be, as with runc.
 */

const KEYCTL_SETPERM = 5;
const KEYCTL_JOIN_SESSION_KEYRING = 1;
/** A new keyring's permissions (possessor all; owner view, read, link) … */
const NEW_KEYRING_PERM = 0x3f130000;
/** … plus search by its owner, or in a user namespace by others (runc's choice). */
const KEY_USR_SEARCH = 0x00080000;
const KEY_OTH_SEARCH = 0x00000008;

export function sessionKeyringName(id: string): string {
  return `_ses.${id}`;
}

/**
 * Joins the container's session keyring; `create` also sets its permissions (an exec'd
 * process joins the keyring the init made, as runc's does, and leaves it as it is).
 */
export function emitSessionKeyring(e: Emitter, id: string, inUserNamespace: boolean, create: boolean): void {
  const p = e.p;
  const step = { what: `join session keyring ${sessionKeyringName(id)}` };
  const key = p.reg('session keyring');
  p.sys('keyctl', [KEYCTL_JOIN_SESSION_KEYRING, e.str(sessionKeyringName(id))], step, { save: key, tolerate: [ENOSYS] });
  if (!create) return;
  const done = p.label('session keyring done');
  p.jumpIfNegative(key, done);
  const perm = NEW_KEYRING_PERM | (inUserNamespace ? KEY_OTH_SEARCH : KEY_USR_SEARCH);
  p.sys('keyctl', [KEYCTL_SETPERM, key, perm >>> 0], { what: `make session keyring ${sessionKeyringName(id)} searchable` });
  p.place(done);
}
