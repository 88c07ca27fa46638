import { closeSync, readSync } from 'node:fs';
import type { Mount, Spec } from '../spec/types/config.js';
import { RuntsError } from '../errors.js';
import { libc } from '../sys/libc.js';
import { syscallNumber } from '../sys/syscalls.js';
import { FSCONFIG_CMD_CREATE, FSCONFIG_SET_FLAG, FSCONFIG_SET_STRING, FSMOUNT_CLOEXEC, FSOPEN_CLOEXEC, MS_BIND } from '../sys/constants.js';
import { parseMountOptions } from './mount-options.js';

/**
 * A filesystem context (fsopen(2)): the kernel's own parser of a filesystem's options,
 * and a way to make a mount that is attached nowhere (fsmount(2)).
 */
export class FsContext {
  private constructor(readonly type: string, private readonly fd: number) {}

  /** A context for `type`, or undefined with the errno when the kernel has none (ENODEV: no such filesystem). */
  static open(type: string): FsContext | { errno: number } {
    const sys = libc();
    const fd = sys.syscall(syscallNumber('fsopen'), sys.address(cstr(type)), FSOPEN_CLOEXEC, 0, 0, 0, 0);
    return fd < 0 ? { errno: sys.errno() } : new FsContext(type, fd);
  }

  /** Gives the filesystem one option of mount(2)'s data ("size=1m", "newinstance"); 0 or an errno. */
  set(option: string): number {
    const sys = libc();
    const eq = option.indexOf('=');
    const key = cstr(eq < 0 ? option : option.slice(0, eq));
    const value = eq < 0 ? null : cstr(option.slice(eq + 1));
    const r = sys.syscall(syscallNumber('fsconfig'), this.fd, value ? FSCONFIG_SET_STRING : FSCONFIG_SET_FLAG,
      sys.address(key), value ? sys.address(value) : 0, 0, 0);
    return r < 0 ? sys.errno() : 0;
  }

  /** What the filesystem said about the last refusal, from the context's log ("tmpfs: Bad value for 'size'"). */
  lastMessage(): string | undefined {
    const buf = Buffer.alloc(512);
    let last: string | undefined;
    for (;;) {
      let n: number;
      try {
        n = readSync(this.fd, buf, 0, buf.length, null);
      } catch {
        return last;
      }
      if (n <= 0) return last;
      last = buf.toString('utf8', 0, n).replace(/^[ewi] /, '').trim();
    }
  }

  /** Creates the filesystem and returns a detached mount of it with MOUNT_ATTR_* `attrs`. */
  mount(attrs: number, what: string, configPath: string): number {
    const sys = libc();
    if (sys.syscall(syscallNumber('fsconfig'), this.fd, FSCONFIG_CMD_CREATE, 0, 0, 0, 0) < 0) {
      throw new RuntsError(`${what}: ${this.lastMessage() ?? 'create the filesystem'}`, { errno: sys.errno(), configPath });
    }
    const fd = sys.syscall(syscallNumber('fsmount'), this.fd, FSMOUNT_CLOEXEC, attrs, 0, 0, 0);
    if (fd < 0) throw new RuntsError(`${what}: mount the filesystem`, { errno: sys.errno(), configPath });
    return fd;
  }

  close(): void {
    closeSync(this.fd);
  }
}

function cstr(s: string): Buffer {
  return Buffer.from(`${s}\0`);
}

/** Whether a mount binds a source: it then takes no filesystem options at all. */
function binds(m: Mount): boolean {
  return m.type === 'bind' || (parseMountOptions(m.options).flags & MS_BIND) !== 0;
}

/**
 * The options of mounts[] that neither runts (mount(8)'s and runc's) nor the filesystem
 * knows, or whose value the filesystem refuses: the kernel's parser says, through a
 * filesystem context that is never created. A bind mount takes no filesystem options.
 * cgroup mounts are runts' own making; a type the kernel does not know is left to the
 * mount, whose failure says so.
 */
export function mountOptionProblems(spec: Spec): { configPath: string; message: string }[] {
  const problems: { configPath: string; message: string }[] = [];
  (spec.mounts ?? []).forEach((m, i) => {
    const data = parseMountOptions(m.options).data;
    if (!data || m.type === 'cgroup') return;
    const configPath = `mounts[${i}].options`;
    const options = data.split(',');
    if (binds(m)) {
      for (const o of options) problems.push({ configPath, message: `unknown mount option "${o}": a bind mount takes no filesystem options` });
      return;
    }
    if (!m.type) return;
    const ctx = FsContext.open(m.type);
    if (!(ctx instanceof FsContext)) return;
    try {
      for (const o of options) {
        if (ctx.set(o) === 0) continue;
        // the kernel's words, "tmpfs: Bad value for 'size'", as runts words its errors
        const said = ctx.lastMessage()?.replace(/^[^:]*: /, '').replace(/^./, (c) => c.toLowerCase());
        problems.push({ configPath, message: `mount option "${o}" is refused by ${m.type}${said ? `: ${said}` : ''}` });
      }
    } finally {
      ctx.close();
    }
  });
  return problems;
}

/** For create: the first problem of mountOptionProblems as an error. */
export function checkMountOptions(spec: Spec): void {
  const [first] = mountOptionProblems(spec);
  if (first) throw new RuntsError(first.message, { configPath: first.configPath });
}
