import { readFileSync } from 'node:fs';
import type { LinuxCapabilities } from '../spec/types/config.js';
import { CAPABILITIES } from '../spec/linux-names.js';
import type { Emitter } from '../program/emit.js';
import {
  LINUX_CAPABILITY_VERSION_3, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, PR_CAP_AMBIENT_RAISE,
  PR_CAPBSET_DROP, PR_SET_KEEPCAPS,
} from '../sys/constants.js';
import { EINVAL } from '../sys/errno.js';
import * as log from '../log.js';

/**
 * process.capabilities. The bounding set is cut before the switch of user (it needs
 * CAP_SETPCAP), keepcaps carries the permitted set across setresuid, and capset and the
 * ambient raises come after it.
 */

type CapSet = keyof LinuxCapabilities;
const SETS: CapSet[] = ['bounding', 'effective', 'inheritable', 'permitted', 'ambient'];

/** The capabilities this host can grant at all: the runtime's own bounding set. */
export function hostBounding(): bigint {
  const status = readFileSync('/proc/self/status', 'latin1');
  const m = /^CapBnd:\s*([0-9a-f]+)$/m.exec(status);
  return m ? BigInt('0x' + m[1]) : (1n << BigInt(CAPABILITIES.length)) - 1n;
}

export function lastCap(): number {
  try {
    return Number(readFileSync('/proc/sys/kernel/cap_last_cap', 'latin1').trim());
  } catch {
    return CAPABILITIES.length - 1;
  }
}

export interface CapabilityPlan {
  masks: Record<CapSet, bigint>;
  /** Names asked for that this host cannot grant: the spec wants a warning, not a failure. */
  unavailable: string[];
  /** Ambient names left out because they are not both permitted and inheritable. */
  notAmbient: string[];
}

export function planCapabilities(caps: LinuxCapabilities | undefined, host: bigint): CapabilityPlan {
  const masks = {} as Record<CapSet, bigint>;
  const unavailable = new Set<string>();
  for (const set of SETS) {
    let mask = 0n;
    for (const name of caps?.[set] ?? []) {
      const bit = 1n << BigInt(CAPABILITIES.indexOf(name));
      if (host & bit) mask |= bit;
      else unavailable.add(name);
    }
    masks[set] = mask;
  }
  // The kernel raises an ambient capability only if it is permitted and inheritable.
  // `runc spec` asks for ambient ones without inheritable ones, and runc starts that
  // container without them: so does runts.
  const raisable = masks.ambient & masks.permitted & masks.inheritable;
  const notAmbient = CAPABILITIES.filter((_, cap) => (masks.ambient & ~raisable & (1n << BigInt(cap))) !== 0n);
  masks.ambient = raisable;
  return { masks, unavailable: [...unavailable], notAmbient };
}

/**
 * Tells what the process asked for and will not have: a capability the host lacks is a
 * warning; an ambient one the kernel would refuse is left out quietly, as runc does, and
 * named with --debug.
 */
export function reportCapabilityPlan(plan: CapabilityPlan): void {
  for (const name of plan.unavailable) log.warn(`capability ${name} cannot be granted: it is not in this host's bounding set`);
  for (const name of plan.notAmbient) log.debug(`capability ${name} is not raised as ambient: it is not both permitted and inheritable`);
}

/** Before the user switch: cut the bounding set and keep permitted caps across setresuid. */
export function emitCapabilitiesBeforeUser(e: Emitter, plan: CapabilityPlan, last: number): void {
  const step = { what: 'drop capabilities from the bounding set', configPath: 'process.capabilities.bounding' };
  for (let cap = 0; cap <= last; cap++) {
    if (plan.masks.bounding & (1n << BigInt(cap))) continue;
    // A capability newer than the kernel answers EINVAL: it is not there to drop.
    e.p.sys('prctl', [PR_CAPBSET_DROP, cap, 0, 0, 0], step, { tolerate: [EINVAL] });
  }
  e.p.sys('prctl', [PR_SET_KEEPCAPS, 1, 0, 0, 0], { what: 'keep capabilities across the user switch' });
}

/** After the user switch: the effective, permitted and inheritable sets, then ambient. */
export function emitCapabilitiesAfterUser(e: Emitter, plan: CapabilityPlan): void {
  const header = Buffer.alloc(8);
  header.writeUInt32LE(LINUX_CAPABILITY_VERSION_3, 0);
  const data = Buffer.alloc(24);
  const { effective, permitted, inheritable } = plan.masks;
  for (const [i, mask] of [effective, permitted, inheritable].entries()) {
    data.writeUInt32LE(Number(mask & 0xffffffffn), 4 * i);
    data.writeUInt32LE(Number(mask >> 32n), 12 + 4 * i);
  }
  e.p.sys('capset', [e.p.bytes(header), e.p.bytes(data)], { what: 'set capabilities', configPath: 'process.capabilities' });
  e.p.sys('prctl', [PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0], { what: 'clear ambient capabilities' });
  for (let cap = 0; cap < CAPABILITIES.length; cap++) {
    if (!(plan.masks.ambient & (1n << BigInt(cap)))) continue;
    e.p.sys('prctl', [PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0], { what: `raise ambient ${CAPABILITIES[cap]}`, configPath: 'process.capabilities.ambient' });
  }
}
