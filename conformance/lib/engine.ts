import { existsSync, readdirSync, readlinkSync } from 'node:fs';
import { candidateDirs } from './cgroups.js';
import type { Bundle, CaseContext } from './context.js';
import { readMountInfo } from './host.js';
import { runCommand, type CommandResult } from './proc.js';
import { COMMAND_TIMEOUT_MS } from './runtime.js';

/**
 * create, start and wait as an engine does it (conmon, containerd's shim): from a child
 * subreaper, so the container process, once the runtime's create has exited, is
 * reparented to it and its exit status can be read with wait(2), not taken from the
 * runtime. The helper exits with the container's status (128+N when killed by signal N),
 * or 250 when create fails, 251 when start fails, 252 when no process was left to wait for.
 */
const SUBREAPER = String.raw`
use strict;
require "syscall.ph";
my ($rt, $root, $id, $bundle) = @ARGV;
syscall(&SYS_prctl, 36, 1, 0, 0, 0) == 0 or die "prctl(PR_SET_CHILD_SUBREAPER): $!\n";
system($rt, "--root", $root, "create", "--bundle", $bundle, $id);
if ($? != 0) { print STDERR "subreaper: create exited $?\n"; exit 250; }
system($rt, "--root", $root, "start", $id);
if ($? != 0) { print STDERR "subreaper: start exited $?\n"; exit 251; }
my $pid = waitpid(-1, 0);
if ($pid <= 0) { print STDERR "subreaper: no container process to wait for\n"; exit 252; }
my $st = $?;
exit(($st & 127) ? 128 + ($st & 127) : $st >> 8);
`;

export async function engineRun(t: CaseContext, b: Bundle, timeoutMs = 4 * COMMAND_TIMEOUT_MS): Promise<CommandResult> {
  if (t.aborted) throw new Error('case timed out');
  b.write();
  return runCommand('perl', ['-e', SUBREAPER, t.runtime.path, t.runtime.root, b.id, b.dir], {
    timeoutMs,
    scratch: t.dir,
    stdoutPath: b.stdoutPath,
    stderrPath: b.stderrPath,
  });
}

/**
 * `run` in the foreground, as a person runs the config `runc spec` writes (it asks for a
 * terminal): under script(1), which gives the runtime a pty as its controlling terminal.
 * Exits with the container's status.
 */
export async function ttyRun(t: CaseContext, b: Bundle): Promise<CommandResult> {
  if (t.aborted) throw new Error('case timed out');
  b.write();
  const q = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
  const command = [t.runtime.path, '--root', t.runtime.root, 'run', '--bundle', b.dir, b.id].map(q).join(' ');
  return runCommand('script', ['--quiet', '--return', '--command', command, '/dev/null'], {
    timeoutMs: 2 * COMMAND_TIMEOUT_MS,
    scratch: t.dir,
    stdoutPath: b.stdoutPath,
    stderrPath: b.stderrPath,
  });
}

/**
 * What is left of a container after it was deleted: its state, its cgroups (cgroupsPath
 * `cgroup` in any hierarchy), processes whose root is its rootfs, mounts on its rootfs in
 * the suite's mount namespace. Empty when the runtime cleaned up.
 */
export async function leftovers(t: CaseContext, b: Bundle, cgroup: string): Promise<string[]> {
  const found: string[] = [];
  if ((await t.state(b.id)).ok) found.push(`the runtime still knows container ${b.id}`);
  for (const d of candidateDirs(t.host, cgroup)) if (existsSync(d)) found.push(`cgroup ${d}`);
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (readlinkSync(`/proc/${pid}/root`) === b.rootfs) found.push(`process ${pid} in the rootfs`);
    } catch {
      // gone, or a kernel thread
    }
  }
  for (const m of readMountInfo()) {
    if (m.mountPoint === b.rootfs || m.mountPoint.startsWith(`${b.rootfs}/`)) found.push(`mount ${m.mountPoint}`);
  }
  return found;
}

/**
 * The "key=value" lines of a file the container wrote, without what a terminal adds
 * (carriage returns, and the "^@" that script(1)'s pty shows for a NUL).
 */
export function keyValues(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.replaceAll('\r', '').replaceAll('^@', '').replaceAll('\0', '').split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}
