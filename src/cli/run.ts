import { constants } from 'node:os';
import type { GlobalOptions } from './main.js';
import { createContainer } from '../container/create.js';
import { startContainer } from '../container/start.js';
import { deleteContainer } from '../container/delete.js';
import { checkId } from '../container/id.js';
import { libc } from '../sys/libc.js';
import { parseCount } from './args.js';
import type { CreateFlags } from './create.js';
import { PR_SET_CHILD_SUBREAPER } from '../sys/constants.js';

interface RunFlags extends CreateFlags {
  detach: boolean;
  keep: boolean;
  subreaper: boolean;
}

/** Signals an interactive user sends to `runts run` go on to the container. */
const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'];

/** Waits for a child without blocking the event loop, so forwarded signals get through. */
function waitExit(pid: number): Promise<number> {
  const sys = libc();
  const status = Buffer.alloc(4);
  return new Promise((resolve) => {
    const again = () =>
      sys.waitpidAsync(pid, status, 0, (_err, r) => {
        if (r === pid) resolve(status.readInt32LE(0));
        else if (r < 0 && sys.errno() === 10) resolve(0);
        else again();
      });
    again();
  });
}

/** The exit code of a wait status: the process's own, or 128 + the signal that killed it. */
export function exitCode(status: number): number {
  const sig = status & 0x7f;
  return sig === 0 ? (status >> 8) & 0xff : 128 + sig;
}

export async function run(id: string, flags: RunFlags, g: GlobalOptions): Promise<number> {
  checkId(id);
  const sys = libc();
  // Processes the container's init leaves behind come to us, and are reaped with it.
  if (!flags.detach && flags.subreaper) sys.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  const state = createContainer(g.root, id, {
    bundle: flags.bundle,
    pidFile: flags.pidFile,
    noPivot: !flags.pivot,
    preserveFds: parseCount(flags.preserveFds, '--preserve-fds'),
  });
  try {
    startContainer(g.root, id);
  } catch (err) {
    deleteContainer(g.root, id, true);
    throw err;
  }
  if (flags.detach) return 0;
  const forward = (sig: NodeJS.Signals) => sys.kill(state.pid, constants.signals[sig]);
  for (const s of FORWARDED) process.on(s, forward);
  const status = await waitExit(state.pid);
  for (const s of FORWARDED) process.off(s, forward);
  if (!flags.keep) deleteContainer(g.root, id, true);
  return exitCode(status);
}
