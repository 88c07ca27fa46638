import { defaultRoot } from '../container/rootless.js';
import type { Invocation } from './invoke.js';
import type { GlobalOptions } from './options.js';

/**
 * The command lines engines send most (state, start, kill, delete, create, run, exec),
 * read without loading commander, which with its dependencies costs every call some ten
 * milliseconds. It reads only the shapes it knows commander reads the same way (runc's
 * flags: `--flag value`, `--flag=value`, `-f value`, global flags before the command,
 * `--`) and gives up — undefined — on anything else: help, version, an unknown or
 * malformed flag, a missing or extra argument. commander then reads the line and says
 * what is wrong in its own words. test/cli/fast-args.test.ts holds both parsers to the
 * same result on every shape engines send.
 */

interface Flag {
  /** The key commander gives it: camelCase, `--no-x` as `x`. */
  key: string;
  /** Takes a value (`--bundle DIR`); otherwise a switch. */
  value?: boolean;
  /** `--no-x`: the switch sets false. */
  negate?: boolean;
  /** Repeatable, every value kept in order (`--env A --env B`). */
  collect?: boolean;
}

interface CommandShape {
  flags: Record<string, Flag>;
  defaults: Record<string, unknown>;
  /** Required and optional arguments; `rest`: everything after them is the command to run. */
  required: number;
  optional: { default: unknown }[];
  rest?: boolean;
}

const CREATE_FLAGS: Record<string, Flag> = {
  '-b': { key: 'bundle', value: true },
  '--bundle': { key: 'bundle', value: true },
  '--console-socket': { key: 'consoleSocket', value: true },
  '--pid-file': { key: 'pidFile', value: true },
  '--no-pivot': { key: 'pivot', negate: true },
  '--no-new-keyring': { key: 'newKeyring', negate: true },
  '--preserve-fds': { key: 'preserveFds', value: true },
};
const CREATE_DEFAULTS = { bundle: '.', pivot: true, newKeyring: true, preserveFds: '0' };

const SHAPES: Record<string, CommandShape> = {
  state: { flags: {}, defaults: {}, required: 1, optional: [] },
  start: { flags: {}, defaults: {}, required: 1, optional: [] },
  kill: {
    flags: { '-a': { key: 'all' }, '--all': { key: 'all' } },
    defaults: { all: false },
    required: 1,
    optional: [{ default: 'SIGTERM' }],
  },
  delete: {
    flags: { '-f': { key: 'force' }, '--force': { key: 'force' } },
    defaults: { force: false },
    required: 1,
    optional: [],
  },
  create: { flags: CREATE_FLAGS, defaults: CREATE_DEFAULTS, required: 1, optional: [] },
  run: {
    flags: {
      ...CREATE_FLAGS,
      '-d': { key: 'detach' },
      '--detach': { key: 'detach' },
      '--keep': { key: 'keep' },
      '--no-subreaper': { key: 'subreaper', negate: true },
    },
    defaults: { ...CREATE_DEFAULTS, detach: false, keep: false, subreaper: true },
    required: 1,
    optional: [],
  },
  exec: {
    flags: {
      '--console-socket': { key: 'consoleSocket', value: true },
      '--cwd': { key: 'cwd', value: true },
      '-e': { key: 'env', value: true, collect: true },
      '--env': { key: 'env', value: true, collect: true },
      '-t': { key: 'tty' },
      '--tty': { key: 'tty' },
      '-u': { key: 'user', value: true },
      '--user': { key: 'user', value: true },
      '-g': { key: 'additionalGids', value: true, collect: true },
      '--additional-gids': { key: 'additionalGids', value: true, collect: true },
      '-p': { key: 'process', value: true },
      '--process': { key: 'process', value: true },
      '-d': { key: 'detach' },
      '--detach': { key: 'detach' },
      '--pid-file': { key: 'pidFile', value: true },
      '--process-label': { key: 'processLabel', value: true },
      '--apparmor': { key: 'apparmor', value: true },
      '--no-new-privs': { key: 'newPrivs', negate: true },
      '-c': { key: 'cap', value: true, collect: true },
      '--cap': { key: 'cap', value: true, collect: true },
      '--preserve-fds': { key: 'preserveFds', value: true },
      '--cgroup': { key: 'cgroup', value: true, collect: true },
      '--ignore-paused': { key: 'ignorePaused' },
    },
    defaults: { env: [], tty: false, additionalGids: [], detach: false, newPrivs: true, cap: [], preserveFds: '0', cgroup: [], ignorePaused: false },
    required: 1,
    optional: [],
    rest: true,
  },
};

const GLOBAL_FLAGS: Record<string, Flag> = {
  '--root': { key: 'root', value: true },
  '--log': { key: 'log', value: true },
  '--log-format': { key: 'logFormat', value: true },
  '--debug': { key: 'debug' },
  '--systemd-cgroup': { key: 'systemdCgroup' },
  '--rootless': { key: 'rootless', value: true },
};

/**
 * Reads one flag at args[i] into `into`; how many arguments it took, or 0 when it is not
 * one this parser can decide.
 */
function readFlag(args: string[], i: number, flags: Record<string, Flag>, into: Record<string, unknown>): number {
  const arg = args[i];
  const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
  const flag = Object.hasOwn(flags, eq < 0 ? arg : arg.slice(0, eq)) ? flags[eq < 0 ? arg : arg.slice(0, eq)] : undefined;
  if (!flag) return 0;
  if (!flag.value) {
    if (eq >= 0) return 0;
    into[flag.key] = !flag.negate;
    return 1;
  }
  let value: string;
  if (eq >= 0) {
    value = arg.slice(eq + 1);
  } else {
    // a value that looks like a flag, or none at all, is commander's to judge
    if (i + 1 >= args.length || args[i + 1].startsWith('-')) return 0;
    value = args[i + 1];
  }
  into[flag.key] = flag.collect ? [...(into[flag.key] as string[]), value] : value;
  return eq >= 0 ? 1 : 2;
}

/** A hot command's invocation from argv (without node and script), or undefined: ask commander. */
export function parseHotCommand(args: string[]): Invocation | undefined {
  const globals: Record<string, unknown> = {
    root: defaultRoot(), logFormat: 'text', debug: false, systemdCgroup: false, rootless: 'auto',
  };
  let i = 0;
  while (i < args.length && args[i].startsWith('-')) {
    const n = readFlag(args, i, GLOBAL_FLAGS, globals);
    if (n === 0) return undefined;
    i += n;
  }
  if (globals.logFormat !== 'text' && globals.logFormat !== 'json') return undefined;
  if (i >= args.length || !Object.hasOwn(SHAPES, args[i])) return undefined;
  const name = args[i++];
  const shape = SHAPES[name];
  const opts: Record<string, unknown> = { ...shape.defaults };
  for (const [k, v] of Object.entries(opts)) if (Array.isArray(v)) opts[k] = [];
  const operands: string[] = [];
  let rest: string[] | undefined;
  for (; i < args.length; i++) {
    const arg = args[i];
    if (shape.rest && operands.length === shape.required) {
      // exec: what follows the container id is the command, flags and all
      if (arg === '--') return undefined;
      rest = args.slice(i);
      break;
    }
    if (arg === '--') {
      if (shape.rest) return undefined;
      operands.push(...args.slice(i + 1));
      break;
    }
    if (arg.startsWith('-') && arg !== '-') {
      const n = readFlag(args, i, shape.flags, opts);
      if (n === 0) return undefined;
      i += n - 1;
      continue;
    }
    if (arg === '-') return undefined;
    operands.push(arg);
  }
  if (operands.length < shape.required || operands.length > shape.required + shape.optional.length) return undefined;
  const positional: unknown[] = operands.slice();
  for (let k = operands.length - shape.required; k < shape.optional.length; k++) positional.push(shape.optional[k].default);
  if (shape.rest) positional.push(rest ?? []);
  return { name, positional, opts, globals: globals as unknown as GlobalOptions };
}
