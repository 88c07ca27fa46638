import { runCommand, sleep, type CommandResult } from './proc.js';

/** The container state a runtime prints for `state` (runtime.md "State"). */
export interface State {
  ociVersion: string;
  id: string;
  status: string;
  pid?: number;
  bundle: string;
  annotations?: Record<string, string>;
  [other: string]: unknown;
}

export interface StateResult extends CommandResult {
  state?: State;
}

export interface CreateOptions {
  pidFile?: string;
  /** Files the container's stdout and stderr go to (create's own, inherited). */
  stdoutPath: string;
  stderrPath: string;
  /** `--preserve-fds N`: the runtime passes the caller's fds 3 … 3+N-1 to the container. */
  preserveFds?: number;
  /** Open fds the command gets at 3, 4, … (what --preserve-fds refers to). */
  extraFds?: number[];
  /** More of create's flags (runc's vocabulary), before the id. */
  flags?: string[];
  /**
   * A command line that starts the runtime, given the runtime's own command line as its
   * arguments (`sh -c '…; exec "$0" "$@"'`): what sets up the process the runtime runs as.
   */
  launcher?: string[];
}

export interface ExecOptions {
  /** A process.json (config.md "Process") for `exec --process`. */
  processPath: string;
  stdoutPath: string;
  stderrPath: string;
  /** More of exec's flags (runc's vocabulary), before --process. */
  flags?: string[];
}

/** Time limit for one runtime command; a hook case may pass a longer one. */
export const COMMAND_TIMEOUT_MS = 15_000;

/**
 * Drives a runtime through the command line that runc established and runtime callers
 * use (`create --bundle`, `start`, `state`, `kill`, `delete`, and `exec` for the security
 * cases), with `--root` set to the suite's own state directory so nothing it does meets
 * other users of the runtime.
 */
export class Runtime {
  constructor(
    readonly path: string,
    readonly root: string,
    readonly scratch: string,
  ) {}

  private command(
    args: string[],
    extra: { stdoutPath?: string; stderrPath?: string; timeoutMs?: number; extraFds?: number[]; launcher?: string[] } = {},
  ) {
    const line = [this.path, '--root', this.root, ...args];
    const [file, ...argv] = extra.launcher ? [...extra.launcher, ...line] : line;
    return runCommand(file, argv, {
      timeoutMs: extra.timeoutMs ?? COMMAND_TIMEOUT_MS,
      scratch: this.scratch,
      stdoutPath: extra.stdoutPath,
      stderrPath: extra.stderrPath,
      extraFds: extra.extraFds,
    });
  }

  create(id: string, bundle: string, opts: CreateOptions, timeoutMs?: number): Promise<CommandResult> {
    const args = ['create', '--bundle', bundle];
    if (opts.pidFile) args.push('--pid-file', opts.pidFile);
    if (opts.preserveFds !== undefined) args.push('--preserve-fds', String(opts.preserveFds));
    return this.command([...args, ...(opts.flags ?? []), id], {
      stdoutPath: opts.stdoutPath,
      stderrPath: opts.stderrPath,
      timeoutMs,
      extraFds: opts.extraFds,
      launcher: opts.launcher,
    });
  }

  /** `exec --detach --process FILE`: starts one more process in the container and returns. */
  exec(id: string, opts: ExecOptions): Promise<CommandResult> {
    return this.command(['exec', '--detach', ...(opts.flags ?? []), '--process', opts.processPath, id], {
      stdoutPath: opts.stdoutPath,
      stderrPath: opts.stderrPath,
    });
  }

  start(id: string, timeoutMs?: number): Promise<CommandResult> {
    return this.command(['start', id], { timeoutMs });
  }

  /** `kill [--all] ID SIGNAL`: with `all`, runc's flag for every process of the container. */
  kill(id: string, signal: string, all = false): Promise<CommandResult> {
    return this.command(all ? ['kill', '--all', id, signal] : ['kill', id, signal]);
  }

  delete(id: string, force = false, timeoutMs?: number): Promise<CommandResult> {
    return this.command(force ? ['delete', '--force', id] : ['delete', id], { timeoutMs });
  }

  async state(id: string): Promise<StateResult> {
    const r = await this.command(['state', id]);
    if (!r.ok) return r;
    try {
      return { ...r, state: JSON.parse(r.stdout) as State };
    } catch {
      return { ...r, ok: false };
    }
  }

  /** Polls `state` until the status is one of `want`, or the time runs out. */
  async waitFor(id: string, want: string[], timeoutMs = 10_000): Promise<StateResult> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = await this.state(id);
      if (r.state && want.includes(r.state.status)) return r;
      if (Date.now() > deadline) return r;
      await sleep(25);
    }
  }

  async version(): Promise<string> {
    const r = await runCommand(this.path, ['--version'], { timeoutMs: COMMAND_TIMEOUT_MS, scratch: this.scratch });
    return (r.stdout.split('\n')[0] || r.stderr.split('\n')[0] || 'unknown').trim();
  }
}
