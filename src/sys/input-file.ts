import { closeSync, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { RuntsError } from '../errors.js';
import { O_CLOEXEC, O_NONBLOCK, O_RDONLY } from './constants.js';

export const MiB = 1024 * 1024;

function kind(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a fifo';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'a special file';
}

function tooLarge(name: string, limit: number): RuntsError {
  return new RuntsError(`cannot read ${name}: larger than the ${limit / MiB} MiB limit`);
}

/** Up to `limit` bytes of an open fd; more than that is an error naming `name`. */
function readBounded(fd: number, name: string, limit: number): string {
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    // One byte past the limit tells a file of exactly `limit` bytes from a longer one.
    const buf = Buffer.allocUnsafe(Math.min(1 * MiB, limit + 1 - total));
    const n = readSync(fd, buf, 0, buf.length, null);
    if (n === 0) break;
    chunks.push(buf.subarray(0, n));
    total += n;
    if (total > limit) throw tooLarge(name, limit);
  }
  return Buffer.concat(chunks, total).toString('utf8');
}

/**
 * The text of an input file (config.json, state.json, a process or resources file). Only
 * a regular file is read, and at most `limit` bytes of it: a fifo opened without
 * O_NONBLOCK would block forever and a device such as /dev/zero never ends.
 */
export function readInputFile(file: string, limit: number): string {
  let fd: number;
  try {
    fd = openSync(file, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  } catch (err) {
    throw RuntsError.fromNode(`cannot read ${file}`, err);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new RuntsError(`cannot read ${file}: ${kind(st)}, not a regular file`);
    if (st.size > limit) throw tooLarge(file, limit);
    return readBounded(fd, file, limit);
  } catch (err) {
    throw RuntsError.fromNode(`cannot read ${file}`, err);
  } finally {
    closeSync(fd);
  }
}

/** Standard input whatever it is (a pipe usually), up to `limit` bytes. */
export function readInputStdin(limit: number): string {
  try {
    return readBounded(0, 'stdin', limit);
  } catch (err) {
    throw RuntsError.fromNode('cannot read stdin', err);
  }
}
