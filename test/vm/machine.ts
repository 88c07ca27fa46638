import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Image } from './image.js';

/**
 * One boot of the test VM: qemu with the image's kernel, a throw-away qcow2 overlay over
 * the image, a host directory shared read-only over 9p at /mnt/host, and ssh on a
 * loopback port as the only way in (user-mode network with restrict=on: the guest reaches
 * nothing). KVM when the host has a usable one; else multi-threaded TCG, with a CPU model
 * whose instructions TCG emulates fast (no AVX).
 */

export interface Machine {
  img: Image;
  port: number;
  pidFile: string;
  console: string;
}

function accel(): { args: string[]; cpu: string; name: string } {
  // kvm_pvm is software nested virtualization: a stock kernel does not boot at usable speed on it
  const kvm = process.env.RUNTS_VM_ACCEL !== 'tcg' && existsSync('/dev/kvm') && !existsSync('/sys/module/kvm_pvm');
  return kvm
    ? { args: ['-accel', 'kvm'], cpu: 'host,-arch-capabilities', name: 'kvm' }
    : { args: ['-accel', 'tcg,thread=multi,tb-size=512'], cpu: 'qemu64,+ssse3,+sse4.1,+sse4.2,+popcnt,+cx16', name: 'tcg' };
}

export function sshArgs(m: Machine): string[] {
  return ['-F', '/dev/null', '-i', m.img.key, '-p', String(m.port), '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no',
    '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', 'ConnectTimeout=5', '-o', 'ServerAliveInterval=15', 'root@127.0.0.1'];
}

/** Runs a shell command in the guest; its output streams to ours. Resolves to the exit status. */
export function guest(m: Machine, command: string, timeoutMs: number): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn('ssh', [...sshArgs(m), '--', command], { stdio: ['ignore', 'inherit', 'inherit'] });
    const timer = setTimeout(() => {
      process.stdout.write(`\n[vm] timed out after ${timeoutMs / 1000} s: ${command}\n`);
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve(code ?? 255);
    });
  });
}

/** The same, quietly, for short commands; returns status and output. */
export function guestSync(m: Machine, command: string, timeoutMs = 30_000): { status: number; out: string } {
  const r = spawnSync('ssh', [...sshArgs(m), '--', command], { encoding: 'utf8', timeout: timeoutMs });
  return { status: r.status ?? 255, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

export async function boot(img: Image, share: string, port: number, say: (s: string) => void): Promise<Machine> {
  const overlay = join(img.dir, 'run.qcow2');
  const m: Machine = { img, port, pidFile: join(img.dir, 'qemu.pid'), console: join(img.dir, 'console.log') };
  stop(m);
  rmSync(overlay, { force: true });
  const q = spawnSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', img.disk, overlay]);
  if (q.status !== 0) throw new Error(`qemu-img: ${q.stderr}`);
  const a = accel();
  const t0 = Date.now();
  const r = spawnSync('qemu-system-x86_64', [
    '-name', 'runts-test-vm', '-machine', 'q35', ...a.args, '-cpu', a.cpu, '-smp', process.env.RUNTS_VM_CPUS ?? '2',
    '-m', process.env.RUNTS_VM_MEM ?? '4096', '-kernel', img.kernel, '-initrd', img.initrd,
    '-append', 'root=/dev/vda rw console=ttyS0,115200',
    '-drive', `file=${overlay},format=qcow2,if=virtio,cache=unsafe`,
    '-netdev', `user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:${port}-:22`, '-device', 'virtio-net-pci,netdev=n0',
    '-device', 'virtio-rng-pci', '-virtfs', `local,path=${share},mount_tag=share,security_model=none,readonly=on`,
    '-display', 'none', '-serial', `file:${m.console}`, '-daemonize', '-pidfile', m.pidFile,
  ], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`qemu: ${r.stderr}`);
  const deadline = Date.now() + 420_000;
  while (Date.now() < deadline) {
    if (guestSync(m, 'true', 10_000).status === 0) {
      say(`booted (${a.name}) in ${Math.round((Date.now() - t0) / 1000)} s`);
      return m;
    }
    if (!running(m)) throw new Error(`qemu exited while booting; see ${m.console}`);
    await new Promise((res) => setTimeout(res, 2000));
  }
  stop(m);
  throw new Error(`the VM did not answer ssh within 420 s; see ${m.console}`);
}

function running(m: Machine): boolean {
  try {
    process.kill(Number(readFileSync(m.pidFile, 'utf8')), 0);
    return true;
  } catch {
    return false;
  }
}

/** Powers the VM off (killing qemu if it does not go), and removes the overlay. */
export function stop(m: Machine): void {
  if (!existsSync(m.pidFile)) return;
  const pid = Number(readFileSync(m.pidFile, 'utf8'));
  if (running(m)) {
    guestSync(m, 'systemctl poweroff', 10_000);
    const deadline = Date.now() + 20_000;
    while (running(m) && Date.now() < deadline) spawnSync('sleep', ['0.5']);
    if (running(m)) process.kill(pid, 'SIGKILL');
  }
  rmSync(m.pidFile, { force: true });
  rmSync(join(m.img.dir, 'run.qcow2'), { force: true });
}
