import { closeSync, constants, openSync } from 'node:fs';
import { RuntsError } from '../../errors.js';
import { libc } from '../../sys/libc.js';
import { deviceProgram, emulateDevices, type DeviceRule } from './devices.js';

/**
 * cgroup v2's device controller: an eBPF program attached to the container's cgroup.
 * The runtime loads and attaches it before the fork, so this call is not part of the
 * setup program and its number is kept here rather than in src/sys/syscalls.ts.
 */

const BPF_SYSCALL: Record<string, number> = { x64: 321, arm64: 280 };
const BPF_PROG_LOAD = 5;
const BPF_PROG_ATTACH = 8;
const BPF_PROG_TYPE_CGROUP_DEVICE = 15;
const BPF_CGROUP_DEVICE = 6;
/** Programs of the parents (systemd's, an engine's) keep applying: every one must allow. */
const BPF_F_ALLOW_MULTI = 2;
/** Larger than any bpf_attr runts fills; the kernel wants the unused tail zeroed. */
const ATTR_BYTES = 128;

function bpf(cmd: number, attr: Buffer): number {
  const sys = libc();
  const nr = BPF_SYSCALL[process.arch];
  if (nr === undefined) throw new RuntsError(`no bpf system call number for ${process.arch}`);
  return sys.syscall(nr, cmd, sys.address(attr), attr.length, 0, 0, 0);
}

export function attachDeviceFilter(dir: string, rules: DeviceRule[]): void {
  const sys = libc();
  const code = deviceProgram(emulateDevices(rules));
  const license = Buffer.from('Apache-2.0\0');
  const load = Buffer.alloc(ATTR_BYTES);
  load.writeUInt32LE(BPF_PROG_TYPE_CGROUP_DEVICE, 0);
  load.writeUInt32LE(code.length / 8, 4);
  load.writeBigUInt64LE(sys.address(code), 8);
  load.writeBigUInt64LE(sys.address(license), 16);
  const prog = bpf(BPF_PROG_LOAD, load);
  const step = { configPath: 'linux.resources.devices' };
  if (prog < 0) throw new RuntsError('load the eBPF device filter', { errno: sys.errno(), ...step });
  try {
    let dirFd: number;
    try {
      dirFd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
    } catch (err) {
      throw RuntsError.fromNode(`open ${dir}`, err, step.configPath);
    }
    try {
      const attach = Buffer.alloc(ATTR_BYTES);
      attach.writeUInt32LE(dirFd, 0);
      attach.writeUInt32LE(prog, 4);
      attach.writeUInt32LE(BPF_CGROUP_DEVICE, 8);
      attach.writeUInt32LE(BPF_F_ALLOW_MULTI, 12);
      if (bpf(BPF_PROG_ATTACH, attach) < 0) {
        throw new RuntsError(`attach the eBPF device filter to ${dir}`, { errno: sys.errno(), ...step });
      }
    } finally {
      closeSync(dirFd);
    }
  } finally {
    // The attachment holds the program; the cgroup's removal frees it.
    closeSync(prog);
  }
}
