import { closeSync, openSync } from 'node:fs';
import type { Process } from '../spec/types/config.js';
import type { Emitter } from '../program/emit.js';
import { RuntsError } from '../errors.js';
import { libc } from '../sys/libc.js';
import { rightsMessage, sendWithFds } from '../sys/scm.js';
import {
  AF_UNIX, AT_EMPTY_PATH, AT_FDCWD, MS_BIND, MSG_CMSG_CLOEXEC, O_CLOEXEC, O_DIRECTORY, O_NOCTTY, O_RDWR, RESOLVE_IN_ROOT, RESOLVE_NO_MAGICLINKS,
  S_IFREG, SCM_RIGHTS, SO_SNDTIMEO, SOCK_CLOEXEC, SOCK_STREAM, SOL_SOCKET, TIOCGPTPEER, TIOCSCTTY, TIOCSPTLCK, TIOCSWINSZ,
} from '../sys/constants.js';
import { EAGAIN, EEXIST } from '../sys/errno.js';
import { seconds, setupTimeoutMs } from '../sys/wait.js';

/**
 * process.terminal: the process gets a pty of the container's own devpts as its stdio and
 * controlling terminal, and the pty's master goes to whoever asked for it over a unix
 * socket (SCM_RIGHTS): the --console-socket of containerd or conmon, or `runts run` itself,
 * which relays it to its own stdio. The container side is made by the setup program; the
 * runtime side only connects and receives.
 */

export interface ConsoleFds {
  /** A connected unix socket the master is sent over. */
  socket: number;
  /** A free fd number the pty is kept at while the setup needs it. */
  tty: number;
}

/** The name sent with the master: what runc sends (the path it opened). */
const MASTER_NAME = '/dev/ptmx';

/**
 * Opens a pty, sends its master and makes the pty the process's stdio and controlling
 * terminal. The init opens the container's devpts through the rootfs (before pivot_root)
 * and binds the pty onto /dev/console; an exec'd process, already in the container's
 * mount namespace and root, opens it by its absolute path.
 */
export function emitConsole(e: Emitter, process: Process, fds: ConsoleFds, init: boolean): void {
  const p = e.p;
  const step = { what: 'open a pty in the container\'s /dev/pts', configPath: 'process.terminal' };
  const master = p.reg('ptmx');
  const flags = O_RDWR | O_NOCTTY | O_CLOEXEC;
  if (init) {
    p.sys('openat2', [e.root, e.str('dev/pts/ptmx'), e.how(flags, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS), 24], step, { save: master });
  } else {
    p.sys('openat', [AT_FDCWD, e.str('/dev/pts/ptmx'), flags], step, { save: master });
  }
  p.sys('ioctl', [master, TIOCSPTLCK, p.bytes(4)], step);
  const pty = p.reg('pty');
  p.sys('ioctl', [master, TIOCGPTPEER, flags], step, { save: pty });
  const uid = process.user?.uid ?? 0;
  if (uid !== 0) {
    // The process's user must own its terminal. As runc and crun do, only the owner
    // changes: the group stays the one devpts gives (its gid= option, the tty group).
    p.sys('fchownat', [pty, e.str(''), uid, -1, AT_EMPTY_PATH], { what: `give the pty to uid ${uid}`, configPath: 'process.user.uid' });
  }
  const size = process.consoleSize;
  if (size) {
    const winsize = Buffer.alloc(8);
    winsize.writeUInt16LE(size.height, 0);
    winsize.writeUInt16LE(size.width, 2);
    p.sys('ioctl', [pty, TIOCSWINSZ, p.bytes(winsize)], { what: 'set the terminal size', configPath: 'process.consoleSize' });
  }

  // one iovec (the name) and one SCM_RIGHTS cmsg (the master's fd)
  const { msghdr, iovec, control: cmsg } = rightsMessage(1, MASTER_NAME.length);
  const control = p.bytes(cmsg);
  p.store32(control, 4, master);
  const msg = p.struct(msghdr, [{ at: 16, to: p.struct(iovec, [{ at: 0, to: e.str(MASTER_NAME) }]) }, { at: 32, to: control }]);
  const send = { what: 'send the pty master to the console socket', configPath: 'process.terminal' };
  p.sys('sendmsg', [fds.socket, msg, 0], send);
  p.sys('close', [master], send);
  p.sys('close', [fds.socket], send);
  p.sys('dup3', [pty, fds.tty, O_CLOEXEC], step);
  p.sys('close', [pty], step);

  if (init) {
    const bind = { what: 'bind the pty onto /dev/console', configPath: 'process.terminal' };
    const dev = p.reg('consoledev');
    e.openInRoot('dev', O_DIRECTORY, dev, bind);
    p.sys('mknodat', [dev, e.str('console'), S_IFREG | 0o600, 0], bind, { tolerate: [EEXIST] });
    e.openInRoot('dev/console', 0, e.tmp, bind);
    p.sys('close', [dev], bind);
    e.toScratch(e.tmp, bind);
    e.mount(e.str(`/proc/self/fd/${fds.tty}`), e.scratchPath, null, MS_BIND, null, bind);
    e.closeScratch(bind);
  }
  const ctty = { what: 'make the pty the controlling terminal and stdio', configPath: 'process.terminal' };
  p.sys('setsid', [], ctty);
  p.sys('ioctl', [fds.tty, TIOCSCTTY, 0], ctty);
  for (const fd of [0, 1, 2]) p.sys('dup3', [fds.tty, fd, 0], ctty);
  p.sys('close', [fds.tty], ctty);
}

/** Connects to a --console-socket; the fd is what the setup program sends the master over. */
export function connectConsoleSocket(path: string): number {
  const sys = libc();
  const addr = Buffer.alloc(110);
  addr.writeUInt16LE(AF_UNIX, 0);
  if (Buffer.byteLength(path) > 107) throw new RuntsError(`console socket path too long: ${path}`);
  addr.write(path, 2);
  const fd = sys.socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw new RuntsError('socket', { errno: sys.errno() });
  // A listener that accepts nothing blocks connect once its backlog is full: the send
  // timeout bounds that wait (and the setup's send of the master).
  const bound = setupTimeoutMs();
  const timeval = Buffer.alloc(16);
  timeval.writeBigInt64LE(BigInt(Math.floor(bound / 1000)), 0);
  timeval.writeBigInt64LE(BigInt((bound % 1000) * 1000), 8);
  if (sys.setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, timeval, timeval.length) < 0 || sys.connect(fd, addr, addr.length) < 0) {
    const errno = sys.errno();
    closeSync(fd);
    if (errno === EAGAIN) throw new RuntsError(`console socket ${path} did not accept the connection within ${seconds(bound)}`);
    throw new RuntsError(`connect to console socket ${path}`, { errno });
  }
  return fd;
}

/** Receives a pty master sent over `socket` (by the setup program); returns its fd. */
export function receiveMaster(socket: number): number {
  const sys = libc();
  const data = Buffer.alloc(256);
  const iovec = Buffer.alloc(16);
  iovec.writeBigUInt64LE(sys.address(data), 0);
  iovec.writeBigUInt64LE(BigInt(data.length), 8);
  const control = Buffer.alloc(24);
  const msghdr = Buffer.alloc(56);
  msghdr.writeBigUInt64LE(sys.address(iovec), 16);
  msghdr.writeBigUInt64LE(1n, 24);
  msghdr.writeBigUInt64LE(sys.address(control), 32);
  msghdr.writeBigUInt64LE(BigInt(control.length), 40);
  const n = sys.recvmsg(socket, msghdr, MSG_CMSG_CLOEXEC);
  if (n < 0) throw new RuntsError('receive the pty master', { errno: sys.errno() });
  if (control.readInt32LE(8) !== SOL_SOCKET || control.readInt32LE(12) !== SCM_RIGHTS) {
    throw new RuntsError('the container sent no pty master');
  }
  return control.readInt32LE(16);
}

/**
 * A new pty of the host's devpts, for a restored process: the slave takes the place of
 * the terminal the checkpoint recorded as external (its own was the container's devpts,
 * gone with it), and the master goes to the console socket.
 */
export function openPty(): { master: number; slave: number } {
  const sys = libc();
  const flags = O_RDWR | O_NOCTTY | O_CLOEXEC;
  let master: number;
  try {
    master = openSync('/dev/ptmx', flags);
  } catch (err) {
    throw RuntsError.fromNode('open /dev/ptmx', err, 'process.terminal');
  }
  const unlock = Buffer.alloc(4);
  const slave = sys.ioctl(master, TIOCSPTLCK, sys.address(unlock)) < 0 ? -1 : sys.ioctl(master, TIOCGPTPEER, flags);
  if (slave < 0) {
    const errno = sys.errno();
    closeSync(master);
    throw new RuntsError('open the slave of a new pty', { errno, configPath: 'process.terminal' });
  }
  return { master, slave };
}

/** Sends a pty master over a connected console socket: the message the setup program sends. */
export function sendMaster(socket: number, master: number): void {
  if (sendWithFds(socket, Buffer.from(MASTER_NAME), [master]) < 0) {
    throw new RuntsError('send the pty master to the console socket', { errno: libc().errno(), configPath: 'process.terminal' });
  }
}
