import { koffi as loadKoffi, type Koffi } from './koffi.js';
import { RuntsError } from '../errors.js';

/**
 * D-Bus through libsystemd's sd-bus, bound on first use: only a command that talks to
 * systemd loads libsystemd.so.0 (present on every systemd host). Method calls are
 * synchronous; arguments are typed by their D-Bus signature, so the wire format stays
 * sd-bus's business.
 */

/** A D-Bus value for a variant ('v'): its signature and its value. */
export interface Variant {
  sig: string;
  value: DbusValue;
}

/**
 * What a signature's value is in JavaScript: strings for s/o/g, numbers or bigints for
 * the integer types, booleans for b, arrays for a…, arrays of members for (…), a Variant
 * for v, and Uint8Array for ay.
 */
export type DbusValue = string | number | bigint | boolean | Variant | Uint8Array | DbusValue[];

interface SdBusLib {
  defaultSystem: (out: unknown[]) => number;
  newBus: (out: unknown[]) => number;
  setAddress: (bus: unknown, address: string) => number;
  setBusClient: (bus: unknown, client: number) => number;
  uniqueName: (bus: unknown, out: unknown[]) => number;
  start: (bus: unknown) => number;
  unref: (bus: unknown) => unknown;
  newMethodCall: (bus: unknown, out: unknown[], dest: string, path: string, iface: string, member: string) => number;
  appendBasic: (m: unknown, type: number, p: Buffer) => number;
  openContainer: (m: unknown, type: number, contents: string) => number;
  closeContainer: (m: unknown) => number;
  call: (bus: unknown, m: unknown, usec: bigint, error: Buffer, reply: unknown[]) => number;
  messageUnref: (m: unknown) => unknown;
  readBasic: (m: unknown, type: number, out: Buffer) => number;
  enterContainer: (m: unknown, type: number, contents: string) => number;
  exitContainer: (m: unknown) => number;
  errorFree: (error: Buffer) => void;
}

let cached: SdBusLib | undefined;

function lib(): SdBusLib {
  if (cached) return cached;
  const koffi = loadKoffi();
  let so: ReturnType<Koffi['load']>;
  try {
    so = koffi.load('libsystemd.so.0');
  } catch (err) {
    throw new RuntsError('cannot talk to systemd: libsystemd.so.0 cannot be loaded', { cause: err });
  }
  cached = {
    defaultSystem: so.func('int sd_bus_open_system(_Out_ void **bus)'),
    newBus: so.func('int sd_bus_new(_Out_ void **bus)'),
    setAddress: so.func('int sd_bus_set_address(void *bus, const char *address)'),
    setBusClient: so.func('int sd_bus_set_bus_client(void *bus, int b)'),
    uniqueName: so.func('int sd_bus_get_unique_name(void *bus, _Out_ const char **unique)'),
    start: so.func('int sd_bus_start(void *bus)'),
    unref: so.func('void *sd_bus_flush_close_unref(void *bus)'),
    newMethodCall: so.func('int sd_bus_message_new_method_call(void *bus, _Out_ void **m, const char *dest, const char *path, const char *iface, const char *member)'),
    appendBasic: so.func('int sd_bus_message_append_basic(void *m, char type, const void *p)'),
    openContainer: so.func('int sd_bus_message_open_container(void *m, char type, const char *contents)'),
    closeContainer: so.func('int sd_bus_message_close_container(void *m)'),
    call: so.func('int sd_bus_call(void *bus, void *m, uint64_t usec, void *error, _Out_ void **reply)'),
    messageUnref: so.func('void *sd_bus_message_unref(void *m)'),
    readBasic: so.func('int sd_bus_message_read_basic(void *m, char type, void *p)'),
    enterContainer: so.func('int sd_bus_message_enter_container(void *m, char type, const char *contents)'),
    exitContainer: so.func('int sd_bus_message_exit_container(void *m)'),
    errorFree: so.func('void sd_bus_error_free(void *error)'),
  };
  return cached;
}

/** Whether libsystemd can be loaded at all (what `features` reports). */
export function sdBusAvailable(): boolean {
  try {
    lib();
    return true;
  } catch {
    return false;
  }
}

const code = (c: string) => c.charCodeAt(0);

/** The complete types a signature is made of: "sa(sv)" is ["s", "a(sv)"]. */
export function splitSignature(sig: string): string[] {
  const types: string[] = [];
  let i = 0;
  const one = (): void => {
    const c = sig[i++];
    if (c === undefined) throw new RuntsError(`bad D-Bus signature ${JSON.stringify(sig)}`);
    if (c === 'a') return one();
    if (c === '(' || c === '{') {
      const close = c === '(' ? ')' : '}';
      while (sig[i] !== close) one();
      i++;
    }
  };
  while (i < sig.length) {
    const start = i;
    one();
    types.push(sig.slice(start, i));
  }
  return types;
}

/** The fixed-size basic types: their width and how to write them. */
const FIXED: Record<string, { bytes: number; write: (b: Buffer, v: DbusValue) => void }> = {
  y: { bytes: 1, write: (b, v) => b.writeUInt8(Number(v)) },
  b: { bytes: 4, write: (b, v) => b.writeInt32LE(v ? 1 : 0) },
  n: { bytes: 2, write: (b, v) => b.writeInt16LE(Number(v)) },
  q: { bytes: 2, write: (b, v) => b.writeUInt16LE(Number(v)) },
  i: { bytes: 4, write: (b, v) => b.writeInt32LE(Number(v)) },
  u: { bytes: 4, write: (b, v) => b.writeUInt32LE(Number(v)) },
  x: { bytes: 8, write: (b, v) => b.writeBigInt64LE(BigInt(v as number | bigint)) },
  t: { bytes: 8, write: (b, v) => b.writeBigUInt64LE(BigInt(v as number | bigint)) },
};

function append(sd: SdBusLib, m: unknown, sig: string, value: DbusValue): void {
  const check = (r: number) => {
    if (r < 0) throw new RuntsError(`build a D-Bus message (${sig})`, { errno: -r });
  };
  const c = sig[0];
  if (c === 's' || c === 'o' || c === 'g') {
    // sd-bus takes the string itself as the pointer for these types
    check(sd.appendBasic(m, code(c), Buffer.from(`${String(value)}\0`)));
  } else if (FIXED[c]) {
    const b = Buffer.alloc(FIXED[c].bytes);
    FIXED[c].write(b, value);
    check(sd.appendBasic(m, code(c), b));
  } else if (c === 'a') {
    const element = sig.slice(1);
    check(sd.openContainer(m, code('a'), element));
    for (const v of value instanceof Uint8Array ? [...value] : (value as DbusValue[])) append(sd, m, element, v);
    check(sd.closeContainer(m));
  } else if (c === '(') {
    const inner = sig.slice(1, -1);
    check(sd.openContainer(m, code('r'), inner));
    splitSignature(inner).forEach((s, k) => append(sd, m, s, (value as DbusValue[])[k]));
    check(sd.closeContainer(m));
  } else if (c === 'v') {
    const v = value as Variant;
    check(sd.openContainer(m, code('v'), v.sig));
    append(sd, m, v.sig, v.value);
    check(sd.closeContainer(m));
  } else {
    throw new RuntsError(`D-Bus type ${c} is not supported here`);
  }
}

/** struct sd_bus_error: const char *name, const char *message, int _need_free. */
const ERROR_BYTES = 24;

/** The D-Bus error a failed call returned: its name ("org.freedesktop.systemd1.NoSuchUnit") and text. */
export class DbusError extends RuntsError {
  constructor(op: string, readonly dbusName: string | undefined, text: string | undefined, errno: number) {
    super(dbusName ? `${op}: ${text ?? dbusName}` : op, dbusName ? {} : { errno });
  }
}

function errorFields(b: Buffer): { name?: string; message?: string } {
  const name = loadKoffi().decode(b, 0, 'const char *') as string | null;
  const message = loadKoffi().decode(b, 8, 'const char *') as string | null;
  return { name: name ?? undefined, message: message ?? undefined };
}

/** One connection to a bus; close() when done. */
export class Bus {
  private constructor(private handle: unknown) {}

  /**
   * The system manager: as root through systemd's private socket (what systemctl uses;
   * it needs no dbus-daemon), otherwise the system bus.
   */
  static system(): Bus {
    const sd = lib();
    if (process.geteuid?.() === 0) {
      const out: unknown[] = [null];
      if (sd.newBus(out) >= 0) {
        const bus = out[0];
        if (sd.setAddress(bus, 'unix:path=/run/systemd/private') >= 0 && sd.start(bus) >= 0) return new Bus(bus);
        sd.unref(bus);
      }
    }
    const out: unknown[] = [null];
    const r = sd.defaultSystem(out);
    if (r < 0) throw new RuntsError('connect to the system bus', { errno: -r });
    return new Bus(out[0]);
  }

  /**
   * The calling user's bus, where the user's manager is, found as runc finds it:
   * $DBUS_SESSION_BUS_ADDRESS, else unix:path=$XDG_RUNTIME_DIR/bus. An address is given to
   * sd-bus rather than letting sd_bus_open_user look, so that an error can say which.
   */
  static user(env: NodeJS.ProcessEnv = process.env): Bus {
    const address = userBusAddress(env);
    const sd = lib();
    const out: unknown[] = [null];
    let r = sd.newBus(out);
    if (r < 0) throw new RuntsError('connect to the user bus', { errno: -r });
    const bus = out[0];
    r = sd.setAddress(bus, address);
    if (r >= 0) r = sd.setBusClient(bus, 1);
    if (r >= 0) r = sd.start(bus);
    if (r < 0) {
      sd.unref(bus);
      throw new RuntsError(`connect to the user bus at ${address}`, { errno: -r });
    }
    return new Bus(bus);
  }

  /** This connection's unique name on a bus with a broker (":1.42"). */
  uniqueName(): string {
    const out: unknown[] = [null];
    const r = lib().uniqueName(this.handle, out);
    if (r < 0) throw new RuntsError('D-Bus unique name', { errno: -r });
    return String(out[0]);
  }

  /**
   * Calls `member` with `args` (typed by `sig`) and returns the reply's first value when
   * `replySig` names a basic type (s, o, u, t, b…), or undefined.
   */
  call(dest: string, path: string, iface: string, member: string, sig: string, args: DbusValue[], replySig?: string, timeoutUs = 25_000_000): DbusValue | undefined {
    const sd = lib();
    const out: unknown[] = [null];
    let r = sd.newMethodCall(this.handle, out, dest, path, iface, member);
    if (r < 0) throw new RuntsError(`D-Bus ${member}`, { errno: -r });
    const m = out[0];
    const error = Buffer.alloc(ERROR_BYTES);
    const reply: unknown[] = [null];
    try {
      splitSignature(sig).forEach((s, k) => append(sd, m, s, args[k]));
      r = sd.call(this.handle, m, BigInt(timeoutUs), error, reply);
      if (r < 0) {
        const e = errorFields(error);
        throw new DbusError(`D-Bus ${member}`, e.name, e.message, -r);
      }
      return replySig === undefined ? undefined : readFirst(sd, reply[0], replySig);
    } finally {
      sd.errorFree(error);
      sd.messageUnref(m);
      if (reply[0]) sd.messageUnref(reply[0]);
    }
  }

  /** org.freedesktop.DBus.Properties.Get of a property whose value has basic type `sig`. */
  getProperty(dest: string, path: string, iface: string, name: string, sig: string): DbusValue | undefined {
    return this.call(dest, path, 'org.freedesktop.DBus.Properties', 'Get', 'ss', [iface, name], `v${sig}`);
  }

  close(): void {
    if (this.handle) lib().unref(this.handle);
    this.handle = null;
  }
}

/** D-Bus address escaping: bytes outside [-0-9A-Za-z_/.*] as %hh. */
const escapeAddress = (v: string): string =>
  [...Buffer.from(v)].map((b) => (/[-0-9A-Za-z_/.\\*]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).padStart(2, '0')}`)).join('');

/** The user bus's address: $DBUS_SESSION_BUS_ADDRESS, else the socket in $XDG_RUNTIME_DIR. */
export function userBusAddress(env: NodeJS.ProcessEnv): string {
  if (env.DBUS_SESSION_BUS_ADDRESS) return env.DBUS_SESSION_BUS_ADDRESS;
  if (env.XDG_RUNTIME_DIR) return `unix:path=${escapeAddress(`${env.XDG_RUNTIME_DIR}/bus`)}`;
  throw new RuntsError('connect to the user bus: neither DBUS_SESSION_BUS_ADDRESS nor XDG_RUNTIME_DIR is set');
}

/** The reply's first value: a basic type, or "v" and the basic type inside the variant. */
function readFirst(sd: SdBusLib, m: unknown, sig: string): DbusValue | undefined {
  if (sig.startsWith('v')) {
    const inner = sig.slice(1);
    if (sd.enterContainer(m, code('v'), inner) < 0) return undefined;
    const v = readFirst(sd, m, inner);
    sd.exitContainer(m);
    return v;
  }
  const c = sig[0];
  const b = Buffer.alloc(8);
  if (sd.readBasic(m, code(c), b) <= 0) return undefined;
  if (c === 's' || c === 'o' || c === 'g') return loadKoffi().decode(b, 0, 'const char *') as string;
  if (c === 'b') return b.readInt32LE(0) !== 0;
  if (c === 'u') return b.readUInt32LE(0);
  if (c === 'i') return b.readInt32LE(0);
  if (c === 't') return b.readBigUInt64LE(0);
  if (c === 'x') return b.readBigInt64LE(0);
  if (c === 'y') return b.readUInt8(0);
  if (c === 'q') return b.readUInt16LE(0);
  if (c === 'n') return b.readInt16LE(0);
  throw new RuntsError(`D-Bus reply type ${c} is not supported here`);
}
