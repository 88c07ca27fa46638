import { getSystemErrorMap } from 'node:util';

let systemErrors: Map<number, [string, string]> | undefined;

/** Node builds the map afresh on every call, some 30 µs: once per process is enough. */
function systemError(errno: number): [string, string] | undefined {
  systemErrors ??= getSystemErrorMap();
  return systemErrors.get(-Math.abs(errno));
}

/** The name of an errno value ("ENOENT"), or "E<n>" for one Node does not know. */
export function errnoName(errno: number): string {
  return systemError(errno)?.[0] ?? `E${errno}`;
}

/** The errno's text ("no such file or directory"). */
export function errnoText(errno: number): string {
  return systemError(errno)?.[1] ?? 'unknown error';
}

export interface RuntsErrorInit {
  /** The errno the kernel returned, when a system call failed. */
  errno?: number;
  /** The JSON path in config.json the failing step came from ("mounts[2]"). */
  configPath?: string;
  cause?: unknown;
}

/**
 * The one error type of runts: what failed, the errno and the config.json path it came
 * from. Messages are lower case without a trailing period, as engines show them verbatim.
 */
export class RuntsError extends Error {
  readonly op: string;
  readonly errno?: number;
  readonly configPath?: string;

  constructor(op: string, init: RuntsErrorInit = {}) {
    const parts: string[] = [];
    if (init.configPath) parts.push(`config.json: ${init.configPath}`);
    parts.push(op);
    if (init.errno !== undefined) parts.push(`${errnoName(init.errno)}: ${errnoText(init.errno)}`);
    super(parts.join(': '), init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'RuntsError';
    this.op = op;
    this.errno = init.errno;
    this.configPath = init.configPath;
  }

  get errnoName(): string | undefined {
    return this.errno === undefined ? undefined : errnoName(this.errno);
  }

  /** Wraps a Node fs error (with .code and .errno) into a RuntsError. */
  static fromNode(op: string, err: unknown, configPath?: string): RuntsError {
    if (err instanceof RuntsError) return err;
    const e = err as NodeJS.ErrnoException;
    if (typeof e?.errno === 'number') return new RuntsError(op, { errno: -e.errno, configPath, cause: err });
    return new RuntsError(`${op}: ${e?.message ?? String(err)}`, { configPath, cause: err });
  }
}

/** Several problems reported at once (validation), each its own line. */
export class RuntsErrors extends Error {
  constructor(readonly errors: RuntsError[]) {
    super(errors.map((e) => e.message).join('\n'));
    this.name = 'RuntsErrors';
  }
}
