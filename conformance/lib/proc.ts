import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export interface CommandResult {
  command: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
  ok: boolean;
}

export interface CommandOptions {
  timeoutMs: number;
  /** Directory for the files that catch stdout and stderr. */
  scratch: string;
  /** Text fed to stdin; without it stdin is /dev/null. */
  input?: string;
  /**
   * Files that receive stdout and stderr instead of scratch files. A container created
   * by this command inherits them, which is how a case reads what the container prints.
   */
  stdoutPath?: string;
  stderrPath?: string;
  env?: NodeJS.ProcessEnv;
  /** Open fds handed to the command at 3, 4, …, as an engine passes fds with --preserve-fds. */
  extraFds?: number[];
}

let sequence = 0;

/**
 * Runs a command to completion with a time limit. Output goes to files, not pipes: a
 * runtime's `create` hands its stdio to the container, which keeps a pipe open long after
 * the command exits, and reading files after 'exit' never waits on that.
 */
export function runCommand(file: string, args: string[], opts: CommandOptions): Promise<CommandResult> {
  const n = ++sequence;
  const outPath = opts.stdoutPath ?? join(opts.scratch, `cmd-${n}.out`);
  const errPath = opts.stderrPath ?? join(opts.scratch, `cmd-${n}.err`);
  const outStart = opts.stdoutPath ? sizeOf(outPath) : 0;
  const errStart = opts.stderrPath ? sizeOf(errPath) : 0;
  const outFd = openSync(outPath, 'a');
  const errFd = openSync(errPath, 'a');
  const command = [file, ...args].join(' ');
  return new Promise((resolve) => {
    let timedOut = false;
    const child = spawn(file, args, {
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', outFd, errFd, ...(opts.extraFds ?? [])],
      env: opts.env ?? process.env,
      // Its own process group, so a time-out can kill whatever the command started.
      detached: true,
    });
    closeSync(outFd);
    closeSync(errFd);
    if (opts.input !== undefined && child.stdin) {
      child.stdin.on('error', () => undefined);
      child.stdin.end(opts.input);
    }
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid);
    }, opts.timeoutMs);
    const finish = (code: number | null, signal: NodeJS.Signals | null) => {
      clearTimeout(timer);
      const stdout = readFrom(outPath, outStart);
      const stderr = readFrom(errPath, errStart);
      if (!opts.stdoutPath) rmSync(outPath, { force: true });
      if (!opts.stderrPath) rmSync(errPath, { force: true });
      resolve({ command, code, signal, timedOut, stdout, stderr, ok: code === 0 && !timedOut });
    };
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ command, code: null, signal: null, timedOut: false, stdout: '', stderr: String(err), ok: false });
    });
    child.on('exit', finish);
  });
}

export function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

function sizeOf(path: string): number {
  try {
    return readFileSync(path).length;
  } catch {
    return 0;
  }
}

function readFrom(path: string, start: number): string {
  try {
    return readFileSync(path).subarray(start).toString('utf8');
  } catch {
    return '';
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
