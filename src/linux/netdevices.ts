import { closeSync, existsSync, openSync, readSync, writeSync } from 'node:fs';
import type { Spec } from '../spec/types/config.js';
import { RuntsError } from '../errors.js';
import { libc } from '../sys/libc.js';
import { syscallNumber } from '../sys/syscalls.js';
import { CLONE_NEWNET, O_CLOEXEC, O_RDONLY, SOCK_CLOEXEC } from '../sys/constants.js';

/**
 * linux.netDevices (runtime-spec "Network Devices"): host interfaces moved into the
 * container's network namespace, renamed as asked, with their permanent global addresses
 * and up. The runtime does it over rtnetlink once the init is in its network namespace,
 * before any hook runs or the container starts:
 *
 *  1. the interface's permanent addresses of global scope are read on the host (a move
 *     to another namespace drops them);
 *  2. one RTM_NEWLINK moves it (IFLA_NET_NS_FD) and names it (IFLA_IFNAME), the kernel
 *     picking the number of a `%d` name; a name the namespace has is refused before
 *     (the kernel would move the device first, then fail to rename it);
 *  3. in the container's namespace, through a socket opened there, the addresses are
 *     added back and the link set up.
 *
 * Nothing moves them back: the spec forbids it. When the namespace goes, the kernel
 * returns physical devices to the host and destroys virtual ones.
 */

const AF_NETLINK = 16;
const SOCK_RAW = 3;
const NETLINK_ROUTE = 0;
const RTM_NEWLINK = 16;
const RTM_GETLINK = 18;
const RTM_NEWADDR = 20;
const RTM_GETADDR = 22;
const NLMSG_ERROR = 2;
const NLMSG_DONE = 3;
const NLM_F_REQUEST = 1;
const NLM_F_ACK = 4;
const NLM_F_EXCL = 0x200;
const NLM_F_CREATE = 0x400;
const NLM_F_DUMP = 0x300;
const IFLA_IFNAME = 3;
const IFLA_NET_NS_FD = 28;
const IFA_ADDRESS = 1;
const IFA_LOCAL = 2;
const IFA_BROADCAST = 4;
const IFA_FLAGS = 8;
const IFA_F_PERMANENT = 0x80;
const RT_SCOPE_UNIVERSE = 0;
const IFF_UP = 1;
/** IFNAMSIZ less the NUL. */
const IFNAME_MAX = 15;

export interface NetDevicePlan {
  /** The interface on the host. */
  host: string;
  /** Its name in the container (may hold one `%d`). */
  name: string;
  configPath: string;
}

/** An interface name the kernel takes (dev_valid_name); `template` allows one %d. */
function checkName(name: string, configPath: string, template: boolean): void {
  const bad = name === '' || name === '.' || name === '..' || Buffer.byteLength(name) > IFNAME_MAX || /[/:\s]/.test(name);
  const percents = name.split('%').length - 1;
  const wrongTemplate = percents > 0 && (!template || percents > 1 || !name.includes('%d'));
  if (bad || wrongTemplate) {
    throw new RuntsError(`${JSON.stringify(name)} is not a network interface name (at most ${IFNAME_MAX} bytes, no "/", ":" or space${template ? ', at most one %d' : ''})`, { configPath });
  }
}

/** The devices to move, checked; no effect on the system. */
export function planNetDevices(spec: Spec): NetDevicePlan[] {
  const devices = spec.linux?.netDevices ?? {};
  const plans = Object.entries(devices).map(([host, d]) => {
    const configPath = `linux.netDevices.${host}`;
    checkName(host, configPath, false);
    const name = d?.name ?? host;
    checkName(name, `${configPath}.name`, true);
    return { host, name, configPath };
  });
  const seen = new Map<string, string>();
  for (const p of plans) {
    if (p.name.includes('%d')) continue;
    const other = seen.get(p.name);
    if (other) throw new RuntsError(`${p.host} and ${other} would both be ${p.name} in the container`, { configPath: `${p.configPath}.name` });
    seen.set(p.name, p.host);
  }
  return plans;
}

/** What create can tell before it makes anything: each host interface exists. */
export function checkNetDevices(spec: Spec): void {
  for (const p of planNetDevices(spec)) {
    if (!existsSync(`/sys/class/net/${p.host}`)) throw new RuntsError(`no network interface ${p.host} on this host`, { configPath: p.configPath });
  }
}

/** One rtattr: u16 length, u16 type, the data, padded to 4 bytes. */
function attr(type: number, data: Buffer): Buffer {
  const b = Buffer.alloc((4 + data.length + 3) & ~3);
  b.writeUInt16LE(4 + data.length, 0);
  b.writeUInt16LE(type, 2);
  data.copy(b, 4);
  return b;
}

const u32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0, 0);
  return b;
};
const cstr = (s: string) => Buffer.from(s + '\0');

/** struct ifinfomsg: family, pad, type, index, flags, change. */
function ifinfo(index: number, flags = 0, change = 0): Buffer {
  const b = Buffer.alloc(16);
  b.writeInt32LE(index, 4);
  b.writeUInt32LE(flags, 8);
  b.writeUInt32LE(change, 12);
  return b;
}

interface Message {
  type: number;
  body: Buffer;
}

/** The attributes of a message body after its fixed header of `skip` bytes. */
function attrs(body: Buffer, skip: number): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  for (let at = skip; at + 4 <= body.length;) {
    const len = body.readUInt16LE(at);
    if (len < 4) break;
    out.set(body.readUInt16LE(at + 2) & 0x3fff, body.subarray(at + 4, at + len));
    at += (len + 3) & ~3;
  }
  return out;
}

class Netlink {
  private seq = 0;
  private readonly buf = Buffer.alloc(1 << 16);

  constructor(readonly fd: number, readonly where: string) {}

  /** Sends one request and collects its answers: the dump's messages, or the ACK's errno. */
  request(type: number, flags: number, body: Buffer): { messages: Message[]; errno: number } {
    const seq = ++this.seq;
    const header = Buffer.alloc(16);
    header.writeUInt32LE(16 + body.length, 0);
    header.writeUInt16LE(type, 4);
    header.writeUInt16LE(NLM_F_REQUEST | flags, 6);
    header.writeUInt32LE(seq, 8);
    writeSync(this.fd, Buffer.concat([header, body]));
    const messages: Message[] = [];
    for (;;) {
      const n = readSync(this.fd, this.buf, 0, this.buf.length, null);
      for (let at = 0; at + 16 <= n;) {
        const len = this.buf.readUInt32LE(at);
        const kind = this.buf.readUInt16LE(at + 4);
        if (len < 16) return { messages, errno: 0 };
        const msgSeq = this.buf.readUInt32LE(at + 8);
        const payload = Buffer.from(this.buf.subarray(at + 16, at + len));
        at += (len + 3) & ~3;
        if (msgSeq !== seq) continue;
        if (kind === NLMSG_ERROR) return { messages, errno: -payload.readInt32LE(0) };
        if (kind === NLMSG_DONE) return { messages, errno: 0 };
        messages.push({ type: kind, body: payload });
      }
    }
  }

  /** (index, name) of every link. */
  links(): Map<number, string> {
    const { messages, errno } = this.request(RTM_GETLINK, NLM_F_DUMP, ifinfo(0));
    if (errno) throw new RuntsError(`list the network interfaces ${this.where}`, { errno });
    const out = new Map<number, string>();
    for (const m of messages) {
      if (m.type !== RTM_NEWLINK) continue;
      const name = attrs(m.body, 16).get(IFLA_IFNAME);
      out.set(m.body.readInt32LE(4), name ? name.toString('utf8').replace(/\0.*$/s, '') : '');
    }
    return out;
  }

  close(): void {
    closeSync(this.fd);
  }
}

function openNetlink(where: string): Netlink {
  const sys = libc();
  const fd = sys.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) throw new RuntsError(`open a netlink socket ${where}`, { errno: sys.errno() });
  return new Netlink(fd, where);
}

/**
 * A netlink socket of the network namespace `nsFd`: the runtime's thread enters it, opens
 * the socket (which stays in that namespace) and returns to its own.
 */
function openNetlinkIn(nsFd: number, where: string): Netlink {
  const sys = libc();
  const setns = (fd: number) => sys.syscall(syscallNumber('setns'), fd, CLONE_NEWNET, 0, 0, 0, 0);
  const own = openSync('/proc/thread-self/ns/net', O_RDONLY | O_CLOEXEC);
  try {
    if (setns(nsFd) < 0) throw new RuntsError(`enter the network namespace ${where}`, { errno: sys.errno() });
    try {
      return openNetlink(where);
    } finally {
      if (setns(own) < 0) throw new RuntsError('return to the runtime\'s network namespace', { errno: sys.errno() });
    }
  } finally {
    closeSync(own);
  }
}

/** The permanent addresses of global scope of interface `index`, as RTM_NEWADDR bodies without the index. */
function permanentAddresses(nl: Netlink, index: number): { header: Buffer; attrs: Map<number, Buffer> }[] {
  const { messages, errno } = nl.request(RTM_GETADDR, NLM_F_DUMP, Buffer.alloc(8));
  if (errno) throw new RuntsError('list the addresses of the host\'s interfaces', { errno });
  const out = [];
  for (const m of messages) {
    if (m.type !== RTM_NEWADDR || m.body.readInt32LE(4) !== index) continue;
    const a = attrs(m.body, 8);
    const flags = a.get(IFA_FLAGS)?.readUInt32LE(0) ?? m.body.readUInt8(2);
    if (!(flags & IFA_F_PERMANENT) || m.body.readUInt8(3) !== RT_SCOPE_UNIVERSE) continue;
    out.push({ header: Buffer.from(m.body.subarray(0, 8)), attrs: a });
  }
  return out;
}

/**
 * Moves the devices into the network namespace of process `pid` (the container's init).
 * Errors name the device's config path.
 */
export function moveNetDevices(spec: Spec, pid: number): void {
  const plans = planNetDevices(spec);
  if (plans.length === 0) return;
  const nsFd = openSync(`/proc/${pid}/ns/net`, O_RDONLY | O_CLOEXEC);
  const host = openNetlink('of the host');
  let inside: Netlink | undefined;
  try {
    inside = openNetlinkIn(nsFd, 'of the container');
    for (const p of plans) {
      const index = [...host.links()].find(([, name]) => name === p.host)?.[0];
      if (index === undefined) throw new RuntsError(`no network interface ${p.host} on this host`, { configPath: p.configPath });
      const addresses = permanentAddresses(host, index);
      const before = inside.links();
      // The kernel renames after the move: a name taken there would fail with the device moved.
      if (!p.name.includes('%d') && [...before.values()].includes(p.name)) {
        throw new RuntsError(`a network interface named ${p.name} exists in the container's network namespace`, { configPath: `${p.configPath}.name` });
      }
      const move = Buffer.concat([ifinfo(index), attr(IFLA_NET_NS_FD, u32(nsFd)), attr(IFLA_IFNAME, cstr(p.name))]);
      const moved = host.request(RTM_NEWLINK, NLM_F_ACK, move).errno;
      if (moved) throw new RuntsError(`move network interface ${p.host} into the container as ${p.name}`, { errno: moved, configPath: p.configPath });
      const added = [...inside.links()].filter(([i]) => !before.has(i));
      if (added.length !== 1) throw new RuntsError(`network interface ${p.host} is not to be found in the container after its move`, { configPath: p.configPath });
      const [newIndex, newName] = added[0];
      for (const a of addresses) {
        a.header.writeInt32LE(newIndex, 4);
        const parts = [IFA_LOCAL, IFA_ADDRESS, IFA_BROADCAST].filter((t) => a.attrs.has(t)).map((t) => attr(t, a.attrs.get(t)!));
        const errno = inside.request(RTM_NEWADDR, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, Buffer.concat([a.header, ...parts])).errno;
        if (errno) throw new RuntsError(`add an address of ${p.host} to ${newName} in the container`, { errno, configPath: p.configPath });
      }
      const up = inside.request(RTM_NEWLINK, NLM_F_ACK, ifinfo(newIndex, IFF_UP, IFF_UP)).errno;
      if (up) throw new RuntsError(`set network interface ${newName} up in the container`, { errno: up, configPath: p.configPath });
    }
  } finally {
    inside?.close();
    host.close();
    closeSync(nsFd);
  }
}
