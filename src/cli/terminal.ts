import { createReadStream, createWriteStream, writeSync } from 'node:fs';
import { libc } from '../sys/libc.js';
import { AF_UNIX, SOCK_CLOEXEC, SOCK_STREAM, TIOCSWINSZ } from '../sys/constants.js';
import { RuntsError } from '../errors.js';

/**
 * The foreground side of process.terminal for `run` and `exec`: a socketpair stands in for
 * a --console-socket, and once the pty master has arrived, runts relays it to its own
 * stdio (raw mode when stdin is a terminal) and passes on its window size.
 */

export function consolePair(): { ours: number; theirs: number } {
  const pair = Buffer.alloc(8);
  const sys = libc();
  if (sys.socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0) throw new RuntsError('socketpair', { errno: sys.errno() });
  return { ours: pair.readInt32LE(0), theirs: pair.readInt32LE(4) };
}

function setWindowSize(master: number): void {
  if (!process.stdout.isTTY) return;
  const size = Buffer.alloc(8);
  size.writeUInt16LE(process.stdout.rows, 0);
  size.writeUInt16LE(process.stdout.columns, 2);
  libc().ioctl(master, TIOCSWINSZ, libc().address(size));
}

/** Relays until `exited` resolves and the pty has given its last output; returns `exited`'s value. */
export async function relay<T>(master: number, exited: Promise<T>): Promise<T> {
  const raw = process.stdin.isTTY;
  if (raw) process.stdin.setRawMode(true);
  setWindowSize(master);
  const onResize = () => setWindowSize(master);
  process.stdout.on('resize', onResize);
  const input = createWriteStream('', { fd: master, autoClose: false });
  // Input that arrives after the process has gone has nowhere to go.
  input.on('error', () => {});
  process.stdin.pipe(input);
  // The pty answers EIO once the last process holding it has gone: that is its end. This
  // stream owns the master and closes it.
  const output = createReadStream('', { fd: master });
  const drained = new Promise<void>((resolve) => {
    output.on('data', (chunk) => writeSync(1, chunk as Buffer));
    output.on('error', () => resolve());
    output.on('end', () => resolve());
  });
  try {
    const value = await exited;
    await Promise.race([drained, new Promise((resolve) => setTimeout(resolve, 1000))]);
    return value;
  } finally {
    process.stdout.off('resize', onResize);
    process.stdin.unpipe(input);
    if (raw) process.stdin.setRawMode(false);
    process.stdin.destroy();
    output.destroy();
  }
}
