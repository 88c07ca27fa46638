import t from 'tap';
import { buildProgram } from '../../src/cli/program.js';
import { parseHotCommand } from '../../src/cli/fast-args.js';
import type { Invocation } from '../../src/cli/invoke.js';

/**
 * The hot-path parser must read every command line exactly as commander does, or leave
 * it to commander. Each line below is run through both: where the fast parser answers,
 * commander must have made the same call with the same arguments and flags.
 */

/** What commander makes of argv: the invocation, or an exit (usage error, help). */
async function viaCommander(args: string[]): Promise<Invocation | 'exit'> {
  let got: Invocation | undefined;
  const program = buildProgram(async (c) => {
    got = { ...c, opts: { ...c.opts }, globals: { ...c.globals } };
  });
  const silence = (cmd: typeof program) => {
    cmd.configureOutput({ writeOut: () => {}, writeErr: () => {} });
    cmd.commands.forEach(silence);
  };
  silence(program);
  try {
    await program.parseAsync(['node', 'runts', ...args]);
  } catch {
    return 'exit';
  }
  return got ?? 'exit';
}

const ID = 'ctr-1';
// As engines send them: Podman through conmon, containerd's runc shim (go-runc), runc's
// own spellings, and what an operator types.
const LINES: string[][] = [
  // conmon (podman 4): create with globals, the console socket, a pid file, --no-new-keyring
  ['--root', '/run/runc', '--systemd-cgroup', 'create', '--bundle', '/var/lib/containers/b', '--pid-file', '/run/p/pidfile', ID],
  ['--root=/run/runc', '--log=/var/log/r.log', '--log-format=json', 'create', '--bundle=/b', '--console-socket', '/tmp/cs.sock', '--pid-file=/p', '--no-new-keyring', ID],
  ['--log', '/run/x/log.json', '--log-format', 'json', '--root', '/run/runc', 'create', '-b', '/b', '--preserve-fds', '2', '--no-pivot', ID],
  ['--debug', 'create', ID],
  ['create', ID, '--bundle', '/b'],
  // podman's start, state, kill, delete
  ['--root', '/run/runc', 'start', ID],
  ['--root', '/run/runc', 'state', ID],
  ['--systemd-cgroup', '--root', '/run/runc', 'kill', ID, 'KILL'],
  ['--root', '/run/runc', 'kill', '--all', ID, '9'],
  ['kill', '-a', ID, 'SIGKILL'],
  ['kill', ID],
  ['kill', ID, 'TERM', '--all'],
  ['--root', '/run/runc', 'delete', '--force', ID],
  ['delete', '-f', ID],
  ['delete', ID],
  // containerd's shim (go-runc): log and format first, then the command
  ['--root', '/run/containerd/runc/k8s.io', '--log', '/run/containerd/io.containerd.runtime.v2.task/k8s.io/x/log.json', '--log-format', 'json', 'create', '--bundle', '/run/containerd/b', '--pid-file', '/run/containerd/b/init.pid', ID],
  ['--root', '/run/containerd/runc/default', '--log', '/l.json', '--log-format', 'json', 'start', ID],
  ['--root', '/r', '--log', '/l.json', '--log-format', 'json', 'delete', '--force', ID],
  ['--root', '/r', '--log', '/l.json', '--log-format', 'json', 'kill', '--all', ID, '15'],
  ['--root', '/r', '--log', '/l.json', '--log-format', 'json', 'exec', '--process', '/tmp/p.json', '--detach', '--pid-file', '/run/e.pid', ID],
  ['--root', '/r', 'exec', '--console-socket', '/s.sock', '--process', '/p.json', '--detach', '--pid-file', '/e.pid', '--tty', ID],
  // runc's run and exec as operators type them
  ['run', ID],
  ['run', '-d', '--keep', '--no-subreaper', '-b', '/b', ID],
  ['run', '--detach', '--pid-file', '/p', ID],
  ['--rootless', 'true', 'run', '--bundle', '/b', ID],
  ['--rootless=auto', 'state', ID],
  ['--rootless', 'false', '--root', '/run/x', 'create', ID],
  ['exec', ID, 'ls', '-l', '/'],
  ['exec', '-t', '-e', 'A=1', '--env', 'B=2', '-u', '1000:1000', '-g', '10', '--additional-gids=20', '--cwd', '/tmp', ID, 'sh', '-c', 'echo hi'],
  ['exec', '--cap', 'CAP_KILL', '-c', 'CAP_CHOWN', '--no-new-privs', '--apparmor', 'p', '--process-label', 'l', ID, 'true'],
  ['exec', '--preserve-fds', '1', '--ignore-paused', '--cgroup', 'sub', ID, 'true', '--', '-x'],
  ['exec', ID],
  ['exec', '--user=0', ID, 'id', '--env', 'X=1'],
  // `--`, empty values
  ['state', '--', ID],
  ['kill', '--', ID, 'HUP'],
  ['create', '--bundle', '', ID],
  ['--root', '', 'state', ID],
  // what only commander can judge: each must fall back, and commander then fails or helps
  ['state'],
  ['state', ID, 'extra'],
  ['kill', ID, 'KILL', 'extra'],
  ['state', '--bogus', ID],
  ['--bogus', 'state', ID],
  ['--log-format', 'xml', 'state', ID],
  ['--root'],
  ['state', '-h'],
  ['--help'],
  ['-v'],
  ['--version', 'state', ID],
  ['kill', '-af', ID],
  ['run', '-dk', ID],
  ['kill', ID, '-9'],
  ['create', '--bundle', ID],
  ['create', '--bundle', '--pid-file', '/p', ID],
  ['--debug=true', 'state', ID],
  ['delete', '--force=true', ID],
  ['-root', '/r', 'state', ID],
  ['create', '-bundle', '/b', ID],
  ['exec', '--', ID, 'ls'],
  ['exec', ID, '--', 'ls'],
  ['state', '-', ID],
  ['list'],
  ['ps', ID],
  ['spec'],
  [],
];

t.test('both parsers read every line alike', async (t) => {
  let fast = 0;
  for (const line of LINES) {
    const hot = parseHotCommand(line);
    const slow = await viaCommander(line);
    if (hot === undefined) continue;
    fast++;
    t.same(hot, slow, line.join(' '));
  }
  t.ok(fast >= 30, `the fast parser reads the engines' lines itself (${fast})`);
});

t.test('lines the fast parser leaves alone go to commander', async (t) => {
  for (const line of [['state'], ['--help'], ['-v'], ['state', '--bogus', ID], ['kill', '-af', ID], ['list'], ['exec', '--', ID, 'ls']]) {
    t.equal(parseHotCommand(line), undefined, line.join(' '));
  }
});
