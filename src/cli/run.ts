import type { GlobalOptions } from './options.js';
import { createContainer } from '../container/create.js';
import { startContainer } from '../container/start.js';
import { deleteContainer } from '../container/delete.js';
import { checkId } from '../container/id.js';
import { libc } from '../sys/libc.js';
import { waitForwarding } from './wait.js';
import { createOptions, type CreateFlags } from './create.js';
import { PR_SET_CHILD_SUBREAPER } from '../sys/constants.js';
import { receiveMaster } from '../linux/console.js';
import { consolePair, relay } from './terminal.js';
import { closeSync } from 'node:fs';

interface RunFlags extends CreateFlags {
  detach: boolean;
  keep: boolean;
  subreaper: boolean;
}

export async function run(id: string, flags: RunFlags, g: GlobalOptions): Promise<number> {
  checkId(id);
  const sys = libc();
  // As with runc: while runts waits, processes orphaned in a container without a pid
  // namespace of its own are re-parented to runts rather than to the host's init.
  if (!flags.detach && flags.subreaper) sys.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  // In the foreground runts itself takes a terminal's pty master, as runc does.
  const pair = !flags.detach && flags.consoleSocket === undefined ? consolePair() : undefined;
  let master: number | undefined;
  let state;
  try {
    state = createContainer(g.root, id, { ...createOptions(flags, g), consoleFd: pair?.theirs });
    if (pair && state.config.process?.terminal) master = receiveMaster(pair.ours);
  } finally {
    if (pair) [pair.ours, pair.theirs].forEach((fd) => closeSync(fd));
  }
  try {
    startContainer(g.root, id);
  } catch (err) {
    if (master !== undefined) closeSync(master);
    deleteContainer(g.root, id, true);
    throw err;
  }
  if (flags.detach) return 0;
  const exited = waitForwarding(state.pid);
  const code = master === undefined ? await exited : await relay(master, exited);
  if (!flags.keep) deleteContainer(g.root, id, true);
  return code;
}
