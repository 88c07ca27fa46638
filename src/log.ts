import { appendFileSync, writeSync } from 'node:fs';

/**
 * Logging in the format containerd and Podman parse: with --log FILE --log-format json,
 * one JSON object per line. Writes are synchronous and never go through process.stderr,
 * whose pipe Node would switch to O_NONBLOCK under the container's feet.
 */
export type LogFormat = 'text' | 'json';
export type Level = 'debug' | 'info' | 'warning' | 'error';

interface LogConfig {
  file?: string;
  format: LogFormat;
  debug: boolean;
}

const config: LogConfig = { format: 'text', debug: false };

export function configureLog(c: Partial<LogConfig>): void {
  Object.assign(config, c);
}

function line(level: Level, msg: string): string {
  if (config.format === 'json') return JSON.stringify({ level, msg, time: new Date().toISOString() }) + '\n';
  return `time="${new Date().toISOString()}" level=${level} msg=${JSON.stringify(msg)}\n`;
}

function emit(level: Level, ...msgs: string[]): void {
  if (config.file) {
    try {
      appendFileSync(config.file, msgs.map((m) => line(level, m)).join(''));
    } catch {
      // A log that cannot be written must not hide the error itself, which goes to stderr.
    }
  }
}

export function debug(msg: string): void {
  if (!config.debug) return;
  emit('debug', msg);
  if (!config.file) writeStderr(`debug: ${msg}`);
}

export function warn(msg: string): void {
  emit('warning', msg);
  writeStderr(`warning: ${msg}`);
}

/** An error: one line on stderr, and one entry in the log file when there is one. */
export function error(msg: string): void {
  emit('error', msg);
  writeStderr(msg);
}

/** Several errors (a config's problems): one write however many, as a bad config may have 100,000. */
export function errors(msgs: string[]): void {
  emit('error', ...msgs);
  writeStderr(msgs.join('\n'));
}

export function writeStderr(msg: string): void {
  try {
    const buf = Buffer.from(msg.endsWith('\n') ? msg : msg + '\n');
    // a long text may go out in parts
    for (let done = 0; done < buf.length; ) done += writeSync(2, buf, done);
  } catch {
    // stderr closed: nothing else to tell
  }
}

export function writeStdout(text: string): void {
  writeSync(1, text);
}
