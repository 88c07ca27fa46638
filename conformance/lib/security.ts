import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { CaseContext } from './context.js';
import { killGroup, sleep } from './proc.js';
import { securityReq } from './spec.js';

/** What the security cases cite where the runtime-spec has no sentence for the property. */
export const security = {
  threatModel: securityReq(
    'Threat model',
    'The image and the process in the container are hostile: they may hold any files, symlinks and device nodes, run as root in the container, race the runtime while it sets the container up, and be given capabilities such as `CAP_SYS_PTRACE`.',
  ),
  noWrite: securityReq(
    'Threat model',
    'A container must not be able to: … write to any host file, the runtime\'s own executable (node) and JavaScript included;',
  ),
  noFds: securityReq(
    'Threat model',
    'A container must not be able to: … see the runtime\'s fds, environment, arguments, state directory or logs.',
  ),
  maskRace: securityReq(
    'Masked paths (CVE-2025-31133)',
    'If that bind resolves the path `/dev/null` when it mounts, anything that can change the container\'s `/dev` while it is set up (a `/dev` bound from a volume another container shares) can swap the device for a symlink, and the "mask" shows the symlink\'s target instead.',
  ),
};

/** The fds a process holds, each with what /proc/<pid>/fd/N points to. */
export function fdsOf(pid: number): Map<number, string> {
  const fds = new Map<number, string>();
  for (const n of readdirSync(`/proc/${pid}/fd`)) {
    try {
      fds.set(Number(n), readlinkSync(`/proc/${pid}/fd/${n}`));
    } catch {
      // closed meanwhile
    }
  }
  return new Map([...fds].sort(([a], [b]) => a - b));
}

export function describeFds(fds: Map<number, string>): string {
  return [...fds].map(([n, target]) => `${n} -> ${target}`).join(', ');
}

/**
 * Whether the working directory of `pid` lies under its root. A readlink of /proc/<pid>/cwd
 * cannot tell (a path in another mount namespace reads as absolute too), so this walks up
 * from the directory with ".." and looks for the root's inode: from a host directory the
 * walk ends at the host's "/" without meeting it.
 */
export function cwdUnderRoot(pid: number): boolean {
  const root = statSync(`/proc/${pid}/root`);
  let path = `/proc/${pid}/cwd`;
  let previous: { dev: number; ino: number } | undefined;
  for (let depth = 0; depth < 256; depth++) {
    const st = statSync(path);
    if (st.dev === root.dev && st.ino === root.ino) return true;
    if (previous && st.dev === previous.dev && st.ino === previous.ino) return false;
    previous = st;
    path += '/..';
  }
  return false;
}

/**
 * The fds of `pid` that are files or directories on a mount outside its root (its
 * mountinfo lists only the mounts under its root): what a created init holds of the host.
 */
export function hostFds(pid: number): Map<number, string> {
  const inside = new Set(
    readFileSync(`/proc/${pid}/mountinfo`, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split(' ')[0]),
  );
  const out = new Map<number, string>();
  for (const [n, target] of fdsOf(pid)) {
    if (n < 3 || !target.startsWith('/') || target.startsWith('/memfd:')) continue;
    const mntId = /^mnt_id:\s*(\d+)/m.exec(readOr(`/proc/${pid}/fdinfo/${n}`))?.[1];
    if (mntId !== undefined && !inside.has(mntId)) out.set(n, target);
  }
  return out;
}

function readOr(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/**
 * Waits until the container process has executed its program (its command line starts
 * with `program`), so that what /proc shows is the program's, not the runtime's.
 */
export async function execed(pid: number, program: string, timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0')[0] === program) return true;
    } catch {
      return false;
    }
    if (Date.now() > deadline) return false;
    await sleep(20);
  }
}

export interface Executable {
  /** readlink of /proc/<pid>/exe of a running runtime command. */
  link: string;
  /** How `file` relates to it: the same inode, a copy (same content), or neither. */
  relation: 'same file' | 'same content' | 'different';
}

/**
 * The file a runtime command finally executes, whatever launchers lead there (bin/runts is
 * a shell script that execs node), compared with `file`: `--version` is run with its stdout
 * on a pipe already full, so it blocks in its write and /proc/<pid>/exe can be read.
 */
export async function runtimeExecutable(t: CaseContext, file: string): Promise<Executable | undefined> {
  const pidFile = join(t.dir, 'runtime-version.pid');
  const child = spawn(
    'sh',
    ['-c', `sh -c 'echo $$ > "$0"; head -c 65536 /dev/zero; exec "$1" --version' "$0" "$1" | sleep 30`, pidFile, t.runtime.path],
    { stdio: 'ignore', detached: true },
  );
  try {
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      await sleep(20);
      if (!existsSync(pidFile)) continue;
      const pid = Number(readFileSync(pidFile, 'utf8'));
      if (!pid) continue;
      let wchans: string[];
      try {
        wchans = readdirSync(`/proc/${pid}/task`).map((task) => readFileSync(`/proc/${pid}/task/${task}/wchan`, 'utf8'));
      } catch {
        return undefined;
      }
      if (!wchans.some((w) => w.endsWith('pipe_write'))) continue;
      const exe = `/proc/${pid}/exe`;
      const [a, b] = [statSync(exe), statSync(file)];
      if (a.dev === b.dev && a.ino === b.ino) return { link: readlinkSync(exe), relation: 'same file' };
      const same = a.size === b.size && (await sha256(exe)) === (await sha256(file));
      return { link: readlinkSync(exe), relation: same ? 'same content' : 'different' };
    }
    return undefined;
  } finally {
    killGroup(child.pid);
  }
}

function sha256(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => h.update(chunk))
      .on('end', () => resolve(h.digest('hex')))
      .on('error', reject);
  });
}
