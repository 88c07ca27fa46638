import { accessSync, constants, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import type { Mount, Spec } from '../spec/types/config.js';
import { RuntsError } from '../errors.js';
import * as log from '../log.js';

/**
 * CRIU, driven through its command line (`criu dump`, `criu restore`, `criu check`):
 * runc's checkpoint and restore options map one to one onto criu's documented flags, and
 * criu writes the same log either way. The argument lists are built here from the config
 * and the flags, without touching the system; `runCriu` runs them.
 */

/** runc's --manage-cgroups-mode values, which are criu's --manage-cgroups modes. */
export const MANAGE_CGROUPS_MODES = ['soft', 'full', 'strict', 'ignore'] as const;
export type ManageCgroupsMode = (typeof MANAGE_CGROUPS_MODES)[number];

/** The flags checkpoint and restore share (runc's names). */
export interface CriuCommon {
  imagePath: string;
  workPath: string;
  tcpEstablished?: boolean;
  extUnixSk?: boolean;
  shellJob?: boolean;
  fileLocks?: boolean;
  manageCgroupsMode?: ManageCgroupsMode;
  emptyNs?: string[];
  autoDedup?: boolean;
  lazyPages?: boolean;
}

export interface DumpOptions extends CriuCommon {
  pid: number;
  rootfs: string;
  parentPath?: string;
  leaveRunning?: boolean;
  preDump?: boolean;
  statusFd?: number;
  pageServer?: { address: string; port: number };
  /** The v1 freezer cgroup of the container: criu freezes the tree through it. */
  freezerCgroup?: string;
  /** Mount points in the container whose file comes from outside its rootfs. */
  external: string[];
  /** The inode of a network namespace the container joined (linux.namespaces path), not its own. */
  joinedNetNs?: number;
}

/** criu's key for a joined network namespace, given back on restore (runc's name). */
export const EXTERNAL_NET_NS = 'extRootNetNS';

export interface RestoreOptions extends CriuCommon {
  /** Where the container's rootfs is bound for criu. */
  root: string;
  pidFile: string;
  /** Each external mount point and the host path restored on it. */
  external: { destination: string; source: string }[];
  /** criu's fds that replace what the dump recorded as external (stdio pipes, a joined network namespace). */
  inheritFds: { fd: number; key: string }[];
}

const CANDIDATES = ['/usr/sbin/criu', '/usr/local/sbin/criu', '/sbin/criu', '/usr/bin/criu', '/usr/local/bin/criu'];

/** criu's path: on PATH, else where packages put it (engines may call runts with no PATH). */
export function criuBinary(): string | undefined {
  const dirs = (process.env.PATH ?? '').split(':').filter((d) => d.startsWith('/'));
  for (const file of [...dirs.map((d) => join(d, 'criu')), ...CANDIDATES]) {
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // next
    }
  }
  return undefined;
}

function isBind(m: Mount): boolean {
  return m.type === 'bind' || (m.options ?? []).some((o) => o === 'bind' || o === 'rbind');
}

/** The config's bind mounts: their files come from the host, so criu must be told they are external. */
export function bindMounts(spec: Spec): Mount[] {
  return (spec.mounts ?? []).filter(isBind);
}

const common = (o: CriuCommon): string[] => [
  '--images-dir', o.imagePath,
  '--work-dir', o.workPath,
  '-v4',
  ...(o.tcpEstablished ? ['--tcp-established'] : []),
  ...(o.extUnixSk ? ['--ext-unix-sk'] : []),
  ...(o.shellJob ? ['--shell-job'] : []),
  ...(o.fileLocks ? ['--file-locks'] : []),
  // as runc: cgroups are always dumped and restored, in soft mode unless told otherwise
  `--manage-cgroups=${o.manageCgroupsMode ?? 'soft'}`,
  ...(o.emptyNs ?? []).flatMap((ns) => ['--empty-ns', ns]),
  ...(o.autoDedup ? ['--auto-dedup'] : []),
  ...(o.lazyPages ? ['--lazy-pages'] : []),
];

/** `criu dump` (or `pre-dump`) of the container whose init is o.pid. */
export function dumpArgs(o: DumpOptions): string[] {
  return [
    o.preDump ? 'pre-dump' : 'dump',
    '--tree', String(o.pid),
    '--root', o.rootfs,
    '--log-file', o.preDump ? 'pre-dump.log' : 'dump.log',
    ...common(o),
    ...(o.freezerCgroup ? ['--freeze-cgroup', o.freezerCgroup] : []),
    // the memory tracker lets a later dump write only the pages changed since this one
    ...(o.preDump || o.parentPath ? ['--track-mem'] : []),
    ...(o.parentPath ? ['--prev-images-dir', o.parentPath] : []),
    ...(o.leaveRunning ? ['--leave-running'] : []),
    // the caller's status fd is criu's fd 3 (runCriu's passFds)
    ...(o.statusFd !== undefined ? ['--status-fd', '3'] : []),
    ...(o.pageServer ? ['--page-server', '--address', o.pageServer.address, '--port', String(o.pageServer.port)] : []),
    // a joined namespace is the host's to keep: only a reference goes into the images
    ...(o.joinedNetNs !== undefined ? ['--external', `net[${o.joinedNetNs}]:${EXTERNAL_NET_NS}`] : []),
    // a mount point's own path is its key in the images
    ...o.external.flatMap((dest) => ['--ext-mount-map', `${dest}:${dest}`]),
  ];
}

/**
 * `criu restore`: the root task is made a child of runts (--restore-sibling) and criu exits
 * once the tree runs (--restore-detached), as with runc's RPC restore.
 */
export function restoreArgs(o: RestoreOptions): string[] {
  return [
    'restore',
    '--root', o.root,
    '--log-file', 'restore.log',
    ...common(o),
    '--restore-detached',
    '--restore-sibling',
    '--pidfile', o.pidFile,
    ...o.external.flatMap((m) => ['--ext-mount-map', `${m.destination}:${m.source}`]),
    ...o.inheritFds.flatMap((f) => ['--inherit-fd', `fd[${f.fd}]:${f.key}`]),
  ];
}

/**
 * CRIU's own words for a failure, from its log: the first `Error (file:line): …` line (the
 * cause: criu stops at its first error) and the last (what that made fail), joined.
 */
export function criuLogError(text: string): string | undefined {
  const errors = text
    .split('\n')
    .filter((l) => /\bError \(/.test(l))
    .map((l) => l.replace(/^.*?\bError \([^)]*\):\s*/, '').trim());
  if (errors.length === 0) return undefined;
  const first = errors[0];
  const last = errors[errors.length - 1];
  return first === last ? first : `${first}; ${last}`;
}

function childProcess(): typeof import('node:child_process') {
  return process.getBuiltinModule('node:child_process');
}

/**
 * Runs criu with `args`. On failure, one error: `what`, CRIU's message from `logFile` (or
 * from its stderr when it failed before logging, as on a bad option) and where the log is.
 * `passFds`: fds of ours that criu gets as its fds 3, 4, … (its own stdio is not the
 * caller's: what criu prints goes into the error, not onto the engine's stream).
 */
export function runCriu(what: string, args: string[], logFile: string, passFds: number[] = []): void {
  const criu = criuBinary();
  if (!criu) throw new RuntsError(`${what}: criu is not installed (checkpoint and restore need it, e.g. apt-get install criu)`);
  log.debug(`${what}: ${criu} ${args.join(' ')}`);
  const r = childProcess().spawnSync(criu, args, { stdio: ['ignore', 'ignore', 'pipe', ...passFds], encoding: 'utf8' });
  if (r.error) throw RuntsError.fromNode(`${what}: run ${criu}`, r.error);
  if (r.status === 0) return;
  let message: string | undefined;
  try {
    message = criuLogError(readFileSync(logFile, 'utf8'));
  } catch {
    // criu failed before it opened its log
  }
  message ??= (r.stderr ?? '').trim().split('\n')[0]?.replace(/^.*?criu:\s*/, '') || 'no error in its log';
  const how = r.signal ? `killed by ${r.signal}` : `exit status ${r.status}`;
  throw new RuntsError(`${what}: criu failed (${how}): ${message} (log: ${logFile})`);
}

/** `criu check`: undefined when it passes, else CRIU's message. */
export function criuCheck(): string | undefined {
  const criu = criuBinary();
  if (!criu) return 'criu is not installed';
  const r = childProcess().spawnSync(criu, ['check'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status === 0) return undefined;
  return criuLogError(`${r.stdout ?? ''}\n${r.stderr ?? ''}`) ?? `criu check failed (exit status ${r.status})`;
}

/** A mount destination as criu sees it: absolute and normalized. */
export function mountPoint(destination: string): string {
  return posix.normalize(posix.join('/', destination));
}
