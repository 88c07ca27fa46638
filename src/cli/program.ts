import { Command, Option, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeStdout, writeStderr } from '../log.js';
import { VERSION, SPEC_VERSION } from '../version.js';
import { defaultRoot } from '../container/rootless.js';
import type { GlobalOptions } from './options.js';
import { COMMANDS } from './commands.js';
import { runCommand, type Invocation } from './invoke.js';
import { MANAGE_CGROUPS_MODES } from '../linux/criu.js';
import { requireFrom } from '../sys/require.js';

/**
 * The whole command line as commander reads it: help, usage errors and the commands the
 * hot-path parser (fast-args.ts) leaves to it. Loaded only then.
 */

function action(program: Command, invoke: (c: Invocation) => Promise<number | void>) {
  return async (...args: unknown[]) => {
    const cmd = args[args.length - 1] as Command;
    const code = await invoke({
      name: cmd.name(),
      positional: args.slice(0, -2),
      opts: cmd.opts(),
      globals: program.opts() as GlobalOptions,
    });
    if (typeof code === 'number') process.exitCode = code;
  };
}

function versionText(): string {
  // The package's own manifest: reading it avoids loading the native module.
  const manifest = join(dirname(requireFrom(import.meta.url).resolve('koffi')), 'package.json');
  let koffiVersion = 'unknown';
  try {
    koffiVersion = JSON.parse(readFileSync(manifest, 'utf8')).version;
  } catch {
    // leave unknown
  }
  return `runts version ${VERSION}\nspec: ${SPEC_VERSION}\nkoffi: ${koffiVersion}\nnode: ${process.versions.node}`;
}

export function buildProgram(invoke: (c: Invocation) => Promise<number | void> = (c) => runCommand(c, COMMANDS[c.name])): Command {
  const program = new Command('runts');
  program
    .description('an OCI runtime-spec 1.3 container runtime')
    .option('--root <dir>', 'root directory for storage of container state', defaultRoot())
    .option('--log <file>', 'append log entries to this file (default: stderr only)')
    .addOption(new Option('--log-format <format>', 'log format').choices(['text', 'json']).default('text'))
    .option('--debug', 'enable debug logging', false)
    .option('--systemd-cgroup', 'use systemd to manage cgroups (cgroupsPath is slice:prefix:name)', false)
    .option('--rootless <value>', 'ignore cgroup permission errors (true, false or auto)', 'auto')
    // registered as commander's .version() does, but the text is made only when asked for
    .option('-v, --version', 'print the version')
    .configureOutput({ writeOut: writeStdout, writeErr: writeStderr })
    .exitOverride()
    .showHelpAfterError(false)
    .enablePositionalOptions()
    .on('option:version', () => {
      const text = versionText();
      program.configureOutput().writeOut!(`${text}\n`);
      throw new CommanderError(0, 'commander.version', text);
    });

  program
    .command('create')
    .description('create a container')
    .argument('<container-id>')
    .option('-b, --bundle <dir>', 'path to the root of the bundle directory', '.')
    .option('--console-socket <path>', 'path to an AF_UNIX socket which will receive the pty master fd')
    .option('--pid-file <file>', 'file to write the process id to')
    .option('--no-pivot', 'do not use pivot_root to jail the process inside the rootfs')
    .option('--no-new-keyring', 'do not create a new session keyring for the container')
    .option('--preserve-fds <n>', 'pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N)', '0')
    .action(action(program, invoke));

  program
    .command('start')
    .description('start the user process of a created container')
    .argument('<container-id>')
    .action(action(program, invoke));

  program
    .command('state')
    .description('output the state of a container')
    .argument('<container-id>')
    .action(action(program, invoke));

  program
    .command('kill')
    .description('send a signal to the container\'s init process')
    .argument('<container-id>')
    .argument('[signal]', 'signal name (with or without SIG) or number', 'SIGTERM')
    .option('-a, --all', 'send the signal to all processes in the container', false)
    .action(action(program, invoke));

  program
    .command('delete')
    .description('delete a container and the resources it holds')
    .argument('<container-id>')
    .option('-f, --force', 'forcibly delete the container if it is still running (uses SIGKILL)', false)
    .action(action(program, invoke));

  program
    .command('run')
    .description('create and run a container')
    .argument('<container-id>')
    .option('-b, --bundle <dir>', 'path to the root of the bundle directory', '.')
    .option('--console-socket <path>', 'path to an AF_UNIX socket which will receive the pty master fd')
    .option('-d, --detach', 'detach from the container\'s process', false)
    .option('--keep', 'do not delete the container after it exits', false)
    .option('--pid-file <file>', 'file to write the process id to')
    .option('--no-subreaper', 'disable the use of the subreaper used to reap reparented processes')
    .option('--no-pivot', 'do not use pivot_root to jail the process inside the rootfs')
    .option('--no-new-keyring', 'do not create a new session keyring for the container')
    .option('--preserve-fds <n>', 'pass N additional file descriptors to the container', '0')
    .action(action(program, invoke));

  program
    .command('exec')
    .description('execute a new process inside the container')
    .argument('<container-id>')
    .argument('[command...]')
    // as with runc, what follows the container id is the command, flags and all
    .passThroughOptions()
    .option('--console-socket <path>', 'path to an AF_UNIX socket which will receive the pty master fd')
    .option('--cwd <dir>', 'current working directory in the container')
    .option('-e, --env <var>', 'set environment variables', collect, [])
    .option('-t, --tty', 'allocate a pseudo-TTY', false)
    .option('-u, --user <uid[:gid]>', 'UID (format: <uid>[:<gid>])')
    .option('-g, --additional-gids <gid>', 'additional gids', collect, [])
    .option('-p, --process <file>', 'path to the process.json')
    .option('-d, --detach', 'detach from the container\'s process', false)
    .option('--pid-file <file>', 'file to write the process id to')
    .option('--process-label <label>', 'set the asm process label for the process commonly used with selinux')
    .option('--apparmor <profile>', 'set the apparmor profile for the process')
    // commander reads --no-x as x = false, so newPrivs is true unless the flag is given
    .option('--no-new-privs', 'set the no new privileges value for the process')
    .option('-c, --cap <cap>', 'add a capability to the bounding set for the process', collect, [])
    .option('--preserve-fds <n>', 'pass N additional file descriptors to the container', '0')
    .option('--cgroup <path>', 'run the process in an (existing) sub-cgroup(s). Format is [<controller>:]<cgroup>.', collect, [])
    .option('--ignore-paused', 'allow exec in a paused container', false)
    .action(action(program, invoke));

  program
    .command('list')
    .description('lists containers started by runts with the given root')
    .addOption(new Option('-f, --format <format>', 'output format').choices(['table', 'json']).default('table'))
    .option('-q, --quiet', 'display only container IDs', false)
    .action(action(program, invoke));

  program
    .command('ps')
    .description('ps displays the processes running inside a container')
    .argument('<container-id>')
    .argument('[ps-options...]')
    .addOption(new Option('-f, --format <format>', 'output format').choices(['table', 'json']).default('table'))
    .passThroughOptions()
    .action(action(program, invoke));

  program
    .command('pause')
    .description('pause suspends all processes inside the container')
    .argument('<container-id>')
    .action(action(program, invoke));

  program
    .command('resume')
    .description('resumes all processes that have been previously paused')
    .argument('<container-id>')
    .action(action(program, invoke));

  program
    .command('update')
    .description('update container resource constraints')
    .argument('<container-id>')
    .option('-r, --resources <file>', 'path to the file containing the resources to update or \'-\' to read from stdin')
    .option('--blkio-weight <n>', 'specifies per cgroup weight, range is from 10 to 1000')
    .option('--cpu-period <n>', 'CPU CFS period to be used for hardcapping (in usecs)')
    .option('--cpu-quota <n>', 'CPU CFS hardcap limit (in usecs)')
    .option('--cpu-share <n>', 'CPU shares (relative weight vs. other containers)')
    .option('--cpu-rt-period <n>', 'CPU realtime period to be used for hardcapping (in usecs)')
    .option('--cpu-rt-runtime <n>', 'CPU realtime hardcap limit (in usecs)')
    .option('--cpuset-cpus <list>', 'CPU(s) to use')
    .option('--cpuset-mems <list>', 'memory node(s) to use')
    .option('--memory <bytes>', 'memory limit (in bytes)')
    .option('--memory-reservation <bytes>', 'memory reservation or soft_limit (in bytes)')
    .option('--memory-swap <bytes>', 'total memory usage (memory + swap); set \'-1\' to enable unlimited swap')
    .option('--pids-limit <n>', 'maximum number of pids allowed in the container')
    .option('--l3-cache-schema <schema>', 'the string of Intel RDT/CAT L3 cache schema')
    .option('--mem-bw-schema <schema>', 'the string of Intel RDT/MBA memory bandwidth schema')
    .action(action(program, invoke));

  program
    .command('events')
    .description('display container events such as OOM notifications, cpu, memory, and IO usage statistics')
    .argument('<container-id>')
    .option('--interval <duration>', 'set the stats collection interval', '5s')
    .option('--stats', 'display the container\'s stats then exit', false)
    .action(action(program, invoke));

  const manageCgroupsMode = () =>
    new Option('--manage-cgroups-mode <mode>', 'cgroups mode: soft (default), full, strict or ignore').choices([...MANAGE_CGROUPS_MODES]);

  program
    .command('checkpoint')
    .description('checkpoint a running container (with criu)')
    .argument('<container-id>')
    .option('--image-path <path>', 'path for saving criu image files (default: ./checkpoint)')
    .option('--work-path <path>', 'path for saving work files and logs (default: the image path)')
    .option('--parent-path <path>', 'path for previous criu image files in pre-dump, relative to the image path')
    .option('--leave-running', 'leave the process running after checkpointing', false)
    .option('--tcp-established', 'allow open tcp connections', false)
    .option('--ext-unix-sk', 'allow external unix sockets', false)
    .option('--shell-job', 'allow shell jobs', false)
    .option('--lazy-pages', 'use userfaultfd to lazily restore memory pages', false)
    .option('--status-fd <fd>', 'criu writes \\0 to this FD once lazy-pages is ready', '-1')
    .option('--page-server <address:port>', 'ADDRESS:PORT of the page server')
    .option('--file-locks', 'handle file locks, for safety', false)
    .option('--pre-dump', 'dump container\'s memory information only, leave the container running after this', false)
    .addOption(manageCgroupsMode())
    .option('--empty-ns <ns>', 'create a namespace, but don\'t restore its properties (network)')
    .option('--auto-dedup', 'enable auto deduplication of memory images', false)
    .action(action(program, invoke));

  program
    .command('restore')
    .description('restore a container from a previous checkpoint (with criu)')
    .argument('<container-id>')
    .option('--console-socket <path>', 'path to an AF_UNIX socket which will receive the pty master fd')
    .option('--image-path <path>', 'path to criu image files for restoring (default: ./checkpoint)')
    .option('--work-path <path>', 'path for saving work files and logs (default: the image path)')
    .option('--tcp-established', 'allow open tcp connections', false)
    .option('--ext-unix-sk', 'allow external unix sockets', false)
    .option('--shell-job', 'allow shell jobs', false)
    .option('--file-locks', 'handle file locks, for safety', false)
    .addOption(manageCgroupsMode())
    .option('-b, --bundle <dir>', 'path to the root of the bundle directory', '.')
    .option('-d, --detach', 'detach from the container\'s process', false)
    .option('--pid-file <file>', 'file to write the process id to')
    .option('--no-subreaper', 'disable the use of the subreaper used to reap reparented processes')
    .option('--no-pivot', 'do not use pivot_root to jail the process inside the rootfs')
    .option('--empty-ns <ns>', 'create a namespace, but don\'t restore its properties (network)')
    .option('--auto-dedup', 'enable auto deduplication of memory images', false)
    .option('--lazy-pages', 'use userfaultfd to lazily restore memory pages', false)
    .action(action(program, invoke));

  program
    .command('features')
    .description('show the enabled features')
    .action(action(program, invoke));

  program
    .command('spec')
    .description('create a new specification file')
    .option('-b, --bundle <dir>', 'path to the root of the bundle directory', '.')
    .option('--rootless', 'generate a configuration for a rootless container', false)
    .action(action(program, invoke));

  program
    .command('check')
    .description('validate a bundle and report what this host cannot provide for it')
    .option('-b, --bundle <dir>', 'path to the root of the bundle directory', '.')
    .action(action(program, invoke));

  return program;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Parses and runs argv with commander; the exit code. Usage errors are printed already. */
export async function runWithCommander(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    // commander has printed its message already; help and version are not failures
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 1;
    throw err;
  }
}
