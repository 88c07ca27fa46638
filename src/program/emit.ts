import { Program, Ptr, Reg, type Step, type Value } from './program.js';
import {
  MADV_DOFORK, O_CLOEXEC, O_DIRECTORY, O_PATH, RESOLVE_IN_ROOT, RESOLVE_NO_MAGICLINKS, S_IFREG,
} from '../sys/constants.js';
import { EEXIST, ENOMEM } from '../sys/errno.js';
import { doforkRanges } from '../sys/fork.js';

/**
 * A Program with the path helpers every part of the setup uses: paths inside the rootfs
 * are resolved with openat2(RESOLVE_IN_ROOT), so a symlink in an image can never lead a
 * mount or a mkdir out of the rootfs, and mounts target "/proc/self/fd/<scratch>" so that
 * mount(2) acts on exactly the file that was resolved.
 */
export class Emitter {
  readonly p = new Program();
  /** The opened rootfs (set once it is bind-mounted onto itself). */
  readonly root: Reg;
  /** A scratch register for fds that live for one step. */
  readonly tmp: Reg;
  private readonly hows = new Map<string, Ptr>();
  private readonly strings = new Map<string, Ptr>();
  private cloneRanges?: Array<[number, number]>;

  constructor(readonly scratchFd: number) {
    this.root = this.p.reg('root');
    this.tmp = this.p.reg('tmp');
  }

  /**
   * Every mapping MADV_DOFORK again, just before a raw clone: a clone copies no mapping
   * marked MADV_DONTFORK, and V8 so marks what it maps, also in a forked setup process
   * when it collects or compiles there (src/sys/fork.ts). Holes between mappings answer
   * ENOMEM; the rest of a range is marked all the same.
   */
  markForClone(step: Step, tolerate: number[] = [ENOMEM]): void {
    this.cloneRanges ??= doforkRanges();
    for (const [from, to] of this.cloneRanges) this.p.sys('madvise', [from, to - from, MADV_DOFORK], step, { tolerate });
  }

  /** Where mount(2) finds the file open in the scratch fd. */
  get scratchPath(): Ptr {
    return this.str(`/proc/self/fd/${this.scratchFd}`);
  }

  /** Interned C string. */
  str(s: string): Ptr {
    let ptr = this.strings.get(s);
    if (!ptr) this.strings.set(s, (ptr = this.p.cstr(s)));
    return ptr;
  }

  /** A struct open_how for openat2. */
  how(flags: number, resolve: number): Ptr {
    const key = `${flags}/${resolve}`;
    let ptr = this.hows.get(key);
    if (!ptr) {
      const b = Buffer.alloc(24);
      b.writeBigUInt64LE(BigInt(flags), 0);
      b.writeBigUInt64LE(BigInt(resolve), 16);
      this.hows.set(key, (ptr = this.p.bytes(b)));
    }
    return ptr;
  }

  /** reg = openat2(root, rel, O_PATH | extra, RESOLVE_IN_ROOT). */
  openInRoot(rel: string, extraFlags: number, save: Reg, step: Step, opts: { tolerate?: number[] } = {}): void {
    this.p.sys('openat2', [this.root, this.str(rel === '' ? '.' : rel), this.how(O_PATH | O_CLOEXEC | extraFlags, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS), 24], step, { save, tolerate: opts.tolerate });
  }

  /**
   * mkdir -p of `rel` inside the rootfs, one component at a time, each parent opened in
   * the root; with `file`, the last component is created as an empty regular file.
   */
  mkdirAll(rel: string, step: Step, mode = 0o755, file = false): void {
    const parts = rel.split('/').filter((s) => s !== '' && s !== '.');
    for (let i = 0; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/');
      this.openInRoot(parent, O_DIRECTORY, this.tmp, step);
      if (file && i === parts.length - 1) {
        this.p.sys('mknodat', [this.tmp, this.str(parts[i]), S_IFREG | 0o644, 0], step, { tolerate: [EEXIST] });
      } else {
        this.p.sys('mkdirat', [this.tmp, this.str(parts[i]), mode], step, { tolerate: [EEXIST] });
      }
      this.p.sys('close', [this.tmp], step);
    }
  }

  /** Makes the file open in `fd` reachable at scratchPath, for mount(2). */
  toScratch(fd: Reg, step: Step): void {
    this.p.sys('dup3', [fd, this.scratchFd, O_CLOEXEC], step);
    this.p.sys('close', [fd], step);
  }

  closeScratch(step: Step): void {
    this.p.sys('close', [this.scratchFd], step);
  }

  /** mount(2) with a host-side path or null for each of source, target, type and data. */
  mount(source: Value | null, target: Value, fstype: string | null, flags: number, data: string | null, step: Step, opts: { tolerate?: number[]; save?: Reg } = {}): void {
    this.p.sys('mount', [
      source ?? 0, target, fstype === null ? 0 : this.str(fstype), flags, data === null || data === '' ? 0 : this.str(data),
    ], step, opts);
  }
}
