import { libc } from './libc.js';
import { SCM_RIGHTS, SOL_SOCKET } from './constants.js';
import { syscallNumber } from './syscalls.js';

/**
 * A struct msghdr with one iovec of `length` bytes and one SCM_RIGHTS cmsghdr for `fds`
 * fds, laid out as on x86_64 and aarch64. The caller fills the pointers: the msghdr's to
 * the iovec (at 16) and to the control bytes (at 32), the iovec's to the data (at 0), and
 * the fds from byte 16 of the control bytes.
 */
export function rightsMessage(fds: number, length = 1): { msghdr: Buffer; iovec: Buffer; control: Buffer } {
  const iovec = Buffer.alloc(16);
  iovec.writeBigUInt64LE(BigInt(length), 8);
  const control = Buffer.alloc(16 + ((4 * fds + 7) & ~7));
  control.writeBigUInt64LE(BigInt(16 + 4 * fds), 0);
  control.writeInt32LE(SOL_SOCKET, 8);
  control.writeInt32LE(SCM_RIGHTS, 12);
  const msghdr = Buffer.alloc(56);
  msghdr.writeBigUInt64LE(1n, 24);
  msghdr.writeBigUInt64LE(BigInt(control.length), 40);
  return { msghdr, iovec, control };
}

/** sendmsg(2) of `data` with `fds` passed along: the bytes sent, or -1 with errno set. */
export function sendWithFds(socket: number, data: Buffer, fds: number[]): number {
  const sys = libc();
  const { msghdr, iovec, control } = rightsMessage(fds.length, data.length);
  fds.forEach((fd, k) => control.writeInt32LE(fd, 16 + 4 * k));
  iovec.writeBigUInt64LE(sys.address(data), 0);
  msghdr.writeBigUInt64LE(sys.address(iovec), 16);
  msghdr.writeBigUInt64LE(sys.address(control), 32);
  return sys.syscall(syscallNumber('sendmsg'), socket, sys.address(msghdr), 0, 0, 0, 0);
}
