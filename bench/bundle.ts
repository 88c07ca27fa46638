import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** linux.resources beyond the default device rule, for the limit checks. */
export interface Limits {
  memory?: { limit: number };
  pids?: { limit: number };
}

/** Builds the busybox rootfs every runtime runs: one static binary and its applet links. */
export function buildRootfs(script: string, dest: string): void {
  const r = spawnSync('sh', [script, dest], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    throw new Error(`building the busybox rootfs failed: ${r.error?.message ?? r.stderr.trim()}`);
  }
}

/**
 * One bundle directory per container, all sharing one read-only rootfs: each container
 * needs a cgroupsPath of its own so that its cgroup can be read while it is `created`
 * and so that parallel containers never share one.
 */
export class Bundles {
  constructor(
    private readonly dir: string,
    private readonly rootfs: string,
    /** The cgroup every container's cgroup goes under, relative to the hierarchy's root. */
    readonly cgroupParent: string,
  ) {
    mkdirSync(dir, { recursive: true });
  }

  cgroupsPath(id: string): string {
    return `/${this.cgroupParent}/${id}`;
  }

  path(id: string): string {
    return join(this.dir, id);
  }

  /** Writes the bundle for container `id` and returns its directory. */
  create(id: string, limits: Limits = {}): string {
    const dir = this.path(id);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'config.json'), JSON.stringify(this.config(id, limits), null, 2));
    return dir;
  }

  remove(id: string): void {
    rmSync(this.path(id), { recursive: true, force: true });
  }

  /**
   * The configuration `runc spec` writes, with a read-only busybox root, `/bin/true` as the
   * process, and the five namespaces the benchmark asks every runtime to set up. The root
   * is the absolute path of the shared rootfs (runc refuses one reached through a symlink).
   */
  private config(id: string, limits: Limits): object {
    const caps = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];
    return {
      ociVersion: '1.0.2',
      process: {
        terminal: false,
        user: { uid: 0, gid: 0 },
        args: ['/bin/true'],
        env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'],
        cwd: '/',
        capabilities: { bounding: caps, effective: caps, permitted: caps },
        rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
        noNewPrivileges: true,
      },
      root: { path: this.rootfs, readonly: true },
      hostname: 'bench',
      mounts: [
        { destination: '/proc', type: 'proc', source: 'proc' },
        { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
        { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620'] },
        { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
        { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
        { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      ],
      linux: {
        namespaces: ['pid', 'ipc', 'uts', 'mount', 'network'].map((type) => ({ type })),
        cgroupsPath: this.cgroupsPath(id),
        resources: { devices: [{ allow: false, access: 'rwm' }], ...limits },
        maskedPaths: [
          '/proc/acpi', '/proc/asound', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list',
          '/proc/timer_stats', '/proc/sched_debug', '/sys/firmware', '/proc/scsi',
        ],
        readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
      },
    };
  }
}
