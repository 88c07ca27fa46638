import type { GlobalOptions } from './options.js';
import { createContainer, type CreateOptions } from '../container/create.js';
import { checkId } from '../container/id.js';
import { MAX_PRESERVE_FDS, parseCount } from './args.js';
import { decideRootless } from '../container/rootless.js';

export interface CreateFlags {
  bundle: string;
  pidFile?: string;
  pivot: boolean;
  consoleSocket?: string;
  preserveFds: string;
  /** false with --no-new-keyring */
  newKeyring: boolean;
}

/** create's flags as createContainer takes them; `run` shares them. */
export function createOptions(flags: CreateFlags, g: GlobalOptions): CreateOptions {
  return {
    bundle: flags.bundle,
    pidFile: flags.pidFile,
    noPivot: !flags.pivot,
    preserveFds: parseCount(flags.preserveFds, '--preserve-fds', MAX_PRESERVE_FDS),
    systemdCgroup: g.systemdCgroup,
    rootless: decideRootless(g.rootless, g.systemdCgroup),
    consoleSocket: flags.consoleSocket,
    noNewKeyring: flags.newKeyring === false,
  };
}

export function run(id: string, flags: CreateFlags, g: GlobalOptions): number {
  checkId(id);
  createContainer(g.root, id, createOptions(flags, g));
  return 0;
}
