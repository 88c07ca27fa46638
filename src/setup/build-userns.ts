import { Emitter } from '../program/emit.js';
import type { Ptr } from '../program/program.js';
import { MSG_USERNS, RECORD_BYTES } from '../program/protocol.js';
import { emitCloseInherited, record } from './process-steps.js';
import { CLONE_NEWUSER } from '../sys/constants.js';

/**
 * A process that only holds a new user namespace: it makes one, asks the runtime to write
 * its id maps and open it, and exits when the runtime answers. Id-mapped mounts take their
 * mappings from such a namespace (idmap.ts).
 */
export function buildUserNamespaceHolder(socketFd: number): { emitter: Emitter; report: Ptr } {
  const e = new Emitter(-1);
  const p = e.p;
  const report = record(e, 0);
  emitCloseInherited(e, 3, [socketFd]);
  p.sys('unshare', [CLONE_NEWUSER], { what: 'create a user namespace for an id-mapped mount' });
  p.sys('write', [socketFd, record(e, MSG_USERNS), RECORD_BYTES], { what: 'ask for id mappings' });
  p.sys('read', [socketFd, p.bytes(8), 1], { what: 'wait for id mappings' }, { nonzero: true });
  p.sys('exit_group', [0], { what: 'user namespace holder exit' });
  return { emitter: e, report };
}
