import { accessSync, closeSync, constants, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join, posix } from 'node:path';
import type { Mount, Spec } from '../spec/types/config.js';
import { RuntsError } from '../errors.js';
import * as log from '../log.js';
import { libc } from '../sys/libc.js';
import { O_CLOEXEC, O_NONBLOCK, O_RDWR } from '../sys/constants.js';

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
  /** criu's key for the container's terminal, which stays outside the images (ttyKey). */
  tty?: string;
}

/**
 * criu's name for a terminal: `tty[rdev:dev]` of the pty slave, in hex. A terminal the
 * dump names so is external: restore needs a terminal given under the same name.
 */
export function ttyKey(rdev: number, dev: number): string {
  return `tty[${rdev.toString(16)}:${dev.toString(16)}]`;
}

/** criu's key for a joined network namespace, given back on restore (runc's name). */
export const EXTERNAL_NET_NS = 'extRootNetNS';

export interface RestoreOptions extends CriuCommon {
  /** Where the container's rootfs is bound for criu. */
  root: string;
  pidFile: string;
  /** Each external mount point and the host path restored on it. */
  external: { destination: string; source: string }[];
  /** criu's fds that replace what the dump recorded as external (stdio pipes, a joined network namespace, the terminal). */
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
    // the pty's master is the console socket's, outside the tree: restore gets a new pty
    ...(o.tty !== undefined ? ['--external', o.tty] : []),
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
  const criu = criuPath(what);
  log.debug(`${what}: ${criu} ${args.join(' ')}`);
  const r = childProcess().spawnSync(criu, args, { stdio: ['ignore', 'ignore', 'pipe', ...passFds], encoding: 'utf8' });
  if (r.error) throw RuntsError.fromNode(`${what}: run ${criu}`, r.error);
  if (r.status !== 0) throw criuFailure(what, r.status, r.signal, r.stderr ?? '', logFile);
}

/**
 * runCriu, with the event loop running while criu does: what the caller listens to (the
 * action script's requests) is answered meanwhile.
 */
export function runCriuAsync(what: string, args: string[], logFile: string, passFds: number[] = []): Promise<void> {
  const criu = criuPath(what);
  log.debug(`${what}: ${criu} ${args.join(' ')}`);
  return new Promise((resolve, reject) => {
    const child = childProcess().spawn(criu, args, { stdio: ['ignore', 'ignore', 'pipe', ...passFds] });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    child.on('error', (err) => reject(RuntsError.fromNode(`${what}: run ${criu}`, err)));
    child.on('close', (status, signal) => (status === 0 ? resolve() : reject(criuFailure(what, status, signal, stderr, logFile))));
  });
}

function criuPath(what: string): string {
  const criu = criuBinary();
  if (!criu) throw new RuntsError(`${what}: criu is not installed (checkpoint and restore need it, e.g. apt-get install criu)`);
  return criu;
}

function criuFailure(what: string, status: number | null, signal: string | null, stderr: string, logFile: string): RuntsError {
  let message: string | undefined;
  try {
    message = criuLogError(readFileSync(logFile, 'utf8'));
  } catch {
    // criu failed before it opened its log
  }
  message ??= stderr.trim().split('\n')[0]?.replace(/^.*?criu:\s*/, '') || 'no error in its log';
  const how = signal ? `killed by ${signal}` : `exit status ${status}`;
  return new RuntsError(`${what}: criu failed (${how}): ${message} (log: ${logFile})`);
}

/** criu's action script and the fifos it talks to runts through, in the state directory. */
const ACTION_SCRIPT = 'criu-action';
const ACTION_REQUEST = 'criu-request';
const ACTION_ANSWER = 'criu-answer';

/**
 * At setup-namespaces criu has made the restored tree's namespaces and nothing of it runs
 * yet: the script hands the restored init's pid to runts and exits with runts' answer,
 * which lets criu go on or makes it fail. (runc hears the same notification over criu's
 * RPC; criu's command line runs a script for it.)
 */
const SCRIPT = `#!/bin/sh
[ "$CRTOOLS_SCRIPT_ACTION" = setup-namespaces ] || exit 0
cd "\${0%/*}" || exit 1
echo "$CRTOOLS_INIT_PID" > ${ACTION_REQUEST}
read answer < ${ACTION_ANSWER}
exit "$answer"
`;

/**
 * Makes criu's --action-script in `dir`, and listens to it: `onSetupNamespaces` gets the
 * restored init's pid and says whether the restore goes on. Until `close`, runts holds
 * both fifos open for reading and writing, so neither side's open ever blocks.
 */
export function setupNamespacesScript(dir: string, onSetupNamespaces: (pid: number) => boolean): { args: string[]; close: () => void } {
  const sys = libc();
  const script = join(dir, ACTION_SCRIPT);
  const fds: number[] = [];
  let requests: import('node:net').Socket | undefined;
  const close = () => {
    requests?.destroy();
    for (const fd of fds.splice(0)) closeSync(fd);
    for (const f of [ACTION_SCRIPT, ACTION_REQUEST, ACTION_ANSWER]) rmSync(join(dir, f), { force: true });
  };
  try {
    writeFileSync(script, SCRIPT, { mode: 0o700 });
    for (const fifo of [ACTION_REQUEST, ACTION_ANSWER]) {
      if (sys.mkfifo(join(dir, fifo), 0o600) < 0) throw new RuntsError(`mkfifo ${join(dir, fifo)}`, { errno: sys.errno() });
      fds.push(openSync(join(dir, fifo), O_RDWR | O_NONBLOCK | O_CLOEXEC));
    }
  } catch (err) {
    close();
    throw err instanceof RuntsError ? err : RuntsError.fromNode(`criu's action script in ${dir}`, err);
  }
  const [request, answer] = fds;
  const net = process.getBuiltinModule('node:net');
  requests = new net.Socket({ fd: request, readable: true, writable: false });
  // the socket closes the request fifo's fd from now on
  fds.shift();
  // each request is a pid on a line of its own
  let pending = '';
  requests.on('data', (chunk) => {
    pending += chunk.toString();
    for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
      const pid = Number(pending.slice(0, nl));
      pending = pending.slice(nl + 1);
      writeSync(answer, Number.isSafeInteger(pid) && pid > 0 && onSetupNamespaces(pid) ? '0\n' : '1\n');
    }
  });
  return { args: ['--action-script', script], close };
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
