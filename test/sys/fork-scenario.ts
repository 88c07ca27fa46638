import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { fork } from '../../src/sys/fork.js';
import { libc } from '../../src/sys/libc.js';
import { syscallNumber } from '../../src/sys/syscalls.js';

/**
 * Run by fork.test.ts in a node of its own with V8 single-threaded, as runts runs: a
 * worker thread maps MADV_DONTFORK pages all along, publishing each one's address once it
 * exists, and every child fork() returns reads the last address published before it was
 * forked. Prints how the children ended, and whether fork() left an fd open, as JSON.
 */

const require = createRequire(import.meta.url);
const forks = Number(process.argv[2]);

const SLOTS = 5000;
// slot i: the i-th page's address in four 16-bit parts; count: the slots written
const shared = new SharedArrayBuffer(4 + SLOTS * 16);
const count = new Int32Array(shared, 0, 1);
const slots = new Int32Array(shared, 4, SLOTS * 4);
const worker = new Worker(`
  const { workerData } = require('node:worker_threads');
  const koffi = require(workerData.koffi);
  const lib = koffi.load('libc.so.6');
  const mmap = lib.func('void *mmap(void *, size_t, int, int, int, long)');
  const madvise = lib.func('int madvise(void *, size_t, int)');
  const count = new Int32Array(workerData.shared, 0, 1);
  const slots = new Int32Array(workerData.shared, 4, workerData.slots * 4);
  const pause = new Int32Array(new SharedArrayBuffer(4));
  // PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, MADV_DONTFORK; never unmapped
  for (let i = 0; i < workerData.slots && Atomics.load(count, 0) >= 0; i++) {
    const p = mmap(null, 4096, 3, 0x22, -1, 0);
    madvise(p, 4096, 10);
    const a = koffi.address(p);
    for (let k = 0; k < 4; k++) slots[i * 4 + k] = Number((a >> BigInt(16 * k)) & 0xffffn);
    // published once its slot is whole: a child forked after sees both
    Atomics.store(count, 0, i + 1);
    Atomics.wait(pause, 0, 0, 10);
  }`, { eval: true, workerData: { shared, slots: SLOTS, koffi: require.resolve('koffi') } });
while (Atomics.load(count, 0) === 0) await new Promise((r) => setTimeout(r, 5));

const sys = libc();
const exitNr = syscallNumber('exit_group');
// writev(2) reads the buffer's address from the iovec in memory, so the child passes the
// page's address without making a JavaScript number of it (no allocation in the child)
const writevNr = process.arch === 'arm64' ? 66 : 20;
const iovec = Buffer.alloc(16);
iovec.writeBigUInt64LE(1n, 8);
const iovecAddress = sys.address(iovec);
const parts = new Uint16Array(iovec.buffer, iovec.byteOffset, 4);
// a byte a child: the pipe, never read, holds far more than the forks write
const pipe = Buffer.alloc(8);
if (sys.pipe2(pipe, 0o2000000) < 0) throw new Error('pipe2');
const sink = pipe.readInt32LE(4);
const fdsBefore = readdirSync('/proc/self/fd').length;
const status = Buffer.alloc(4);
const ends: Record<string, number> = {};
for (let i = 0; i < forks; i++) {
  const pid = fork(() => {
    const n = Atomics.load(count, 0) - 1;
    for (let k = 0; k < 4; k++) parts[k] = slots[n * 4 + k];
    // 7: the page is there; 9: EFAULT, the child lacks a mapping its parent had
    const r = sys.syscall(writevNr, sink, iovecAddress, 1, 0, 0, 0);
    for (;;) sys.syscall(exitNr, r === 1 ? 7 : 9, 0, 0, 0, 0, 0);
  });
  const s = sys.waitpid(pid, status, 0) === pid ? status.readInt32LE(0) : -1;
  const end = s < 0 ? 'not a child' : (s & 0x7f) !== 0 ? `signal ${s & 0x7f}` : `exit ${(s >> 8) & 0xff}`;
  ends[end] = (ends[end] ?? 0) + 1;
}
const fdsLeft = readdirSync('/proc/self/fd').length - fdsBefore;
const mapped = Atomics.load(count, 0);
Atomics.store(count, 0, -1_000_000);
await worker.terminate();
console.log(JSON.stringify({ ends, fdsLeft, mapped }));
