import { resolve } from 'node:path';
import type { GlobalOptions } from './options.js';
import { RuntsError } from '../errors.js';
import { checkpointContainer } from '../container/checkpoint.js';
import { checkId } from '../container/id.js';
import type { CriuCommon, ManageCgroupsMode } from '../linux/criu.js';

/** The flags checkpoint and restore share, as commander names them. */
export interface CriuFlags {
  imagePath?: string;
  workPath?: string;
  tcpEstablished: boolean;
  extUnixSk: boolean;
  shellJob: boolean;
  fileLocks: boolean;
  manageCgroupsMode?: ManageCgroupsMode;
  emptyNs?: string;
  autoDedup: boolean;
  lazyPages: boolean;
}

/**
 * The shared flags as criu takes them. As with runc: the images go to ./checkpoint unless
 * --image-path says otherwise, criu's work files and log to the images unless --work-path
 * does, and --empty-ns knows the network namespace only.
 */
export function criuCommon(f: CriuFlags): CriuCommon {
  const imagePath = resolve(f.imagePath || 'checkpoint');
  if (f.emptyNs !== undefined && f.emptyNs !== 'network') {
    throw new RuntsError(`--empty-ns: namespace ${JSON.stringify(f.emptyNs)} is not supported: only network is`);
  }
  return {
    imagePath,
    workPath: f.workPath ? resolve(f.workPath) : imagePath,
    tcpEstablished: f.tcpEstablished,
    extUnixSk: f.extUnixSk,
    shellJob: f.shellJob,
    fileLocks: f.fileLocks,
    manageCgroupsMode: f.manageCgroupsMode,
    emptyNs: f.emptyNs === undefined ? [] : ['net'],
    autoDedup: f.autoDedup,
    lazyPages: f.lazyPages,
  };
}

interface CheckpointFlags extends CriuFlags {
  parentPath?: string;
  leaveRunning: boolean;
  statusFd: string;
  pageServer?: string;
  preDump: boolean;
}

/** runc's --page-server ADDRESS:PORT (an IPv6 address in brackets or not). */
function pageServer(value: string): { address: string; port: number } {
  const m = /^\[?(.+?)\]?:(\d{1,5})$/.exec(value);
  if (!m || Number(m[2]) > 65535) throw new RuntsError(`--page-server: expected ADDRESS:PORT, got ${JSON.stringify(value)}`);
  return { address: m[1], port: Number(m[2]) };
}

export function run(id: string, flags: CheckpointFlags, g: GlobalOptions): number {
  checkId(id);
  const statusFd = Number(flags.statusFd);
  if (!Number.isSafeInteger(statusFd) || statusFd < -1) throw new RuntsError(`--status-fd: expected a file descriptor, got ${JSON.stringify(flags.statusFd)}`);
  checkpointContainer(g.root, id, {
    ...criuCommon(flags),
    parentPath: flags.parentPath || undefined,
    leaveRunning: flags.leaveRunning,
    preDump: flags.preDump,
    statusFd: statusFd >= 0 ? statusFd : undefined,
    pageServer: flags.pageServer ? pageServer(flags.pageServer) : undefined,
  });
  return 0;
}
