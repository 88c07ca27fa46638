import type { GlobalOptions } from './options.js';
import { restoreContainer } from '../container/restore.js';
import { deleteContainer } from '../container/delete.js';
import { checkId } from '../container/id.js';
import { decideRootless } from '../container/rootless.js';
import { libc } from '../sys/libc.js';
import { PR_SET_CHILD_SUBREAPER } from '../sys/constants.js';
import { waitForwarding } from './wait.js';
import { criuCommon, type CriuFlags } from './checkpoint.js';
import { receiveMaster } from '../linux/console.js';
import { consolePair, relay } from './terminal.js';
import { closeSync } from 'node:fs';

interface RestoreFlags extends CriuFlags {
  bundle: string;
  consoleSocket?: string;
  detach: boolean;
  pidFile?: string;
  subreaper: boolean;
  /** --no-pivot: taken as runc takes it; criu makes the restored mount namespace's root itself. */
  pivot: boolean;
}

/**
 * restore: the container comes back running from its checkpoint. As `run` does, runts
 * waits in the foreground for its init and deletes it after, unless --detach; a
 * terminal's master goes to --console-socket, or in the foreground to runts itself.
 */
export async function run(id: string, flags: RestoreFlags, g: GlobalOptions): Promise<number> {
  checkId(id);
  // the restored init is a child of runts; processes orphaned in it come back to runts too
  if (!flags.detach && flags.subreaper) libc().prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  const pair = !flags.detach && flags.consoleSocket === undefined ? consolePair() : undefined;
  let master: number | undefined;
  let state;
  try {
    state = await restoreContainer(g.root, id, {
      ...criuCommon(flags),
      bundle: flags.bundle,
      pidFile: flags.pidFile,
      systemdCgroup: g.systemdCgroup,
      rootless: decideRootless(g.rootless, g.systemdCgroup),
      consoleSocket: flags.consoleSocket,
      consoleFd: pair?.theirs,
    });
    if (pair && state.config.process?.terminal) master = receiveMaster(pair.ours);
  } finally {
    if (pair) [pair.ours, pair.theirs].forEach((fd) => closeSync(fd));
  }
  if (flags.detach) return 0;
  const exited = waitForwarding(state.pid);
  const code = master === undefined ? await exited : await relay(master, exited);
  deleteContainer(g.root, id, true);
  return code;
}
