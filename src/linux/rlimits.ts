import type { POSIXRlimit } from '../spec/types/config.js';
import { RLIMITS } from '../spec/linux-names.js';
import type { Emitter } from '../program/emit.js';

/**
 * process.rlimits, set with prlimit64 while the init still has its capabilities
 * (raising a hard limit needs CAP_SYS_RESOURCE).
 */
export function emitRlimits(e: Emitter, rlimits: POSIXRlimit[] = []): void {
  rlimits.forEach((r, i) => {
    const lim = Buffer.alloc(16);
    lim.writeBigUInt64LE(BigInt(r.soft), 0);
    lim.writeBigUInt64LE(BigInt(r.hard), 8);
    e.p.sys('prlimit64', [0, RLIMITS[r.type], e.p.bytes(lim), 0], { what: `set ${r.type} to ${r.soft}/${r.hard}`, configPath: `process.rlimits[${i}]` });
  });
}
