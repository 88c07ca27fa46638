/**
 * A small seccomp agent (runtime-spec "seccomp notify" listener), run as its own process:
 *
 *   node seccomp-agent.js SOCKET [EVENTS]
 *
 * It listens on the unix socket SOCKET, takes each container process state with its
 * seccompFd (SCM_RIGHTS), and answers the notified system calls: mkdir and mkdirat succeed
 * without making anything, chmod, fchmod, fchmodat and fchmodat2 fail with ENOMEDIUM (an
 * error no real chmod gives, so a test can tell the agent answered), and every other call
 * goes on as if not notified (SECCOMP_USER_NOTIF_FLAG_CONTINUE). Each event is one JSON
 * line on stdout, or appended to the file EVENTS: {"event":"state","state":{…},"fds":N} and
 * {"event":"notify","syscall":"mkdir","pid":N}. It runs until killed.
 */
import { appendFileSync, writeSync } from 'node:fs';
import koffi from 'koffi';

const lib = koffi.load('libc.so.6');
const socket = lib.func('int socket(int, int, int)');
const bind = lib.func('int bind(int, const void *, uint32_t)');
const listen = lib.func('int listen(int, int)');
const accept4 = lib.func('int accept4(int, void *, void *, int)');
const recvmsg = lib.func('long recvmsg(int, void *, int)');
const ioctl = lib.func('int ioctl(int, unsigned long, void *)');
const poll = lib.func('int poll(void *, unsigned long, int)');
const close = lib.func('int close(int)');

const AF_UNIX = 1;
const SOCK_STREAM = 1;
const SOCK_CLOEXEC = 0x80000;
const POLLIN = 0x1;
const POLLHUP = 0x10;
const SOL_SOCKET = 1;
const SCM_RIGHTS = 1;
const MSG_CMSG_CLOEXEC = 0x40000000;
const ENOMEDIUM = 123;
/** linux/seccomp.h: _IOWR('!', 0, struct seccomp_notif), _IOWR('!', 1, struct seccomp_notif_resp). */
const SECCOMP_IOCTL_NOTIF_RECV = 0xc0502100;
const SECCOMP_IOCTL_NOTIF_SEND = 0xc0182101;
const SECCOMP_USER_NOTIF_FLAG_CONTINUE = 1;
/** struct seccomp_notif: u64 id, u32 pid, u32 flags, struct seccomp_data (int nr at 16, …): 80 bytes. */
const NOTIF_BYTES = 80;
/** struct seccomp_notif_resp: u64 id, s64 val, s32 error, u32 flags. */
const RESP_BYTES = 24;

const NUMBERS: Record<string, Record<string, number>> = {
  x64: { mkdir: 83, mkdirat: 258, chmod: 90, fchmod: 91, fchmodat: 268, fchmodat2: 452 },
  arm64: { mkdirat: 34, fchmod: 52, fchmodat: 53, fchmodat2: 452 },
};
const byNumber = new Map(Object.entries(NUMBERS[process.arch] ?? {}).map(([name, nr]) => [nr, name]));

function emit(event: Record<string, unknown>): void {
  const line = JSON.stringify(event) + '\n';
  if (process.argv[3]) appendFileSync(process.argv[3], line);
  else writeSync(1, line);
}

function die(what: string): never {
  writeSync(2, `seccomp-agent: ${what}: errno ${koffi.errno()}\n`);
  process.exit(1);
}

const path = process.argv[2];
if (!path) die('usage: seccomp-agent SOCKET');
const server = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
const address = Buffer.alloc(110);
address.writeUInt16LE(AF_UNIX, 0);
address.write(path, 2);
if (bind(server, address, address.length) < 0) die(`bind ${path}`);
if (listen(server, 16) < 0) die('listen');
emit({ event: 'listening' });

/** One connection: the state JSON and the fds that came with it. */
function receive(conn: number): void {
  const data = Buffer.alloc(1 << 16);
  const iovec = Buffer.alloc(16);
  iovec.writeBigUInt64LE(BigInt(koffi.address(data)), 0);
  iovec.writeBigUInt64LE(BigInt(data.length), 8);
  const control = Buffer.alloc(64);
  const msghdr = Buffer.alloc(56);
  msghdr.writeBigUInt64LE(BigInt(koffi.address(iovec)), 16);
  msghdr.writeBigUInt64LE(1n, 24);
  msghdr.writeBigUInt64LE(BigInt(koffi.address(control)), 32);
  msghdr.writeBigUInt64LE(BigInt(control.length), 40);
  const n = Number(recvmsg(conn, msghdr, MSG_CMSG_CLOEXEC));
  if (n < 0) die('recvmsg');
  const fds: number[] = [];
  const controlLength = Number(msghdr.readBigUInt64LE(40));
  if (controlLength >= 16 && control.readInt32LE(8) === SOL_SOCKET && control.readInt32LE(12) === SCM_RIGHTS) {
    for (let at = 16; at < Number(control.readBigUInt64LE(0)); at += 4) fds.push(control.readInt32LE(at));
  }
  let text = data.subarray(0, n).toString();
  // the spec lets a runtime send the rest of the JSON in further writes, without fds
  for (;;) {
    try {
      emit({ event: 'state', state: JSON.parse(text), fds: fds.length });
      break;
    } catch {
      const more = Number(recvmsg(conn, msghdr, 0));
      if (more <= 0) {
        emit({ event: 'bad-state', text });
        break;
      }
      text += data.subarray(0, more).toString();
    }
  }
  close(conn);
  listeners.push(...fds);
}

/** One notification: its answer. */
function answer(fd: number): void {
  const notif = Buffer.alloc(NOTIF_BYTES);
  // the target may have died since poll said there was something
  if (ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, notif) < 0) return;
  const resp = Buffer.alloc(RESP_BYTES);
  notif.copy(resp, 0, 0, 8);
  const name = byNumber.get(notif.readInt32LE(16));
  if (name?.startsWith('mkdir')) {
    // success, and nothing made
  } else if (name?.includes('chmod')) {
    resp.writeInt32LE(-ENOMEDIUM, 16);
  } else {
    resp.writeUInt32LE(SECCOMP_USER_NOTIF_FLAG_CONTINUE, 20);
  }
  emit({ event: 'notify', syscall: name ?? notif.readInt32LE(16), pid: notif.readUInt32LE(8) });
  ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, resp);
}

const listeners: number[] = [];
for (;;) {
  const all = [server, ...listeners];
  const pfds = Buffer.alloc(8 * all.length);
  all.forEach((fd, i) => {
    pfds.writeInt32LE(fd, 8 * i);
    pfds.writeInt16LE(POLLIN, 8 * i + 4);
  });
  if (poll(pfds, all.length, -1) < 0) continue;
  all.forEach((fd, i) => {
    const revents = pfds.readInt16LE(8 * i + 6);
    if (!revents) return;
    if (fd === server) {
      const conn = accept4(server, null, null, SOCK_CLOEXEC);
      if (conn >= 0) receive(conn);
    } else if (revents & POLLIN) {
      answer(fd);
    } else if (revents & POLLHUP) {
      // every process under the filter is gone
      close(fd);
      listeners.splice(listeners.indexOf(fd), 1);
    }
  });
}
