import { closeSync, constants, openSync, readFileSync, writeSync } from 'node:fs';

/**
 * File I/O on cgroup files, shared by the cgroup modules. Nothing here loads koffi: `state`
 * reads the freezer through it.
 */

export function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** One write(2) per value: a cgroup file takes each write as one command. */
export function writeFile(path: string, value: string): void {
  const fd = openSync(path, constants.O_WRONLY);
  try {
    writeSync(fd, value);
  } finally {
    closeSync(fd);
  }
}

/** Blocks for `ms`: cgroup changes settle in the kernel while the command waits. */
export function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
