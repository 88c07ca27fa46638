import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { failure, type Case, type CaseContext } from '../lib/context.js';
import { describeFds, execed, fdsOf, security } from '../lib/security.js';
import { common, req, runcReq } from '../lib/spec.js';

const stdioOnly = req(
  'runtime-linux.md',
  'File descriptors',
  'By default, only the `stdin`, `stdout` and `stderr` file descriptors are kept open for the application by the runtime.',
);
const passes = req(
  'runtime-linux.md',
  'File descriptors',
  'The runtime MAY pass additional file descriptors to the application to support features such as socket activation.',
);

const listenFds = runcReq(
  'create',
  '--preserve-fds value      Pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total) (default: 0)',
);

/**
 * systemd's socket activation of the runtime: it runs with LISTEN_FDS=n and LISTEN_PID its
 * own pid (sh execs it, keeping the pid), as systemd starts a service, or with `pid`
 * another process's, as when the variables leak from an activated service to its children.
 */
function activated(n: number, pid = '$$'): string[] {
  return ['sh', '-c', `LISTEN_FDS=${n} LISTEN_PID=${pid}; export LISTEN_FDS LISTEN_PID; exec "$0" "$@"`];
}

/**
 * Creates and starts `sleep` with `--preserve-fds n` and two files of the case passed at 3
 * and 4 (when n is given, or the runtime is socket-activated), and returns the fds the
 * running program holds and its pid; undefined fds when create fails (its result is
 * returned too).
 */
async function census(t: CaseContext, preserveFds?: number, launcher?: string[]) {
  const b = await t.bundle((c, b) => {
    b.process.args = ['sleep', '1000'];
  });
  const files = [join(t.dir, 'passed-3'), join(t.dir, 'passed-4')];
  const extraFds = preserveFds === undefined && !launcher ? [] : files.map((f) => openSync(f, 'w'));
  try {
    const created = await t.create(b, { preserveFds, extraFds, launcher });
    if (!created.ok) return { created, files };
    const pid = (await t.state(b.id)).state?.pid ?? 0;
    await t.started(b.id);
    t.require(await execed(pid, 'sleep'), 'the container process runs its program', common.start);
    return { created, files, fds: fdsOf(pid), pid };
  } finally {
    extraFds.forEach((fd) => closeSync(fd));
  }
}

export const cases: Case[] = [
  {
    name: 'security_fds',
    description: 'fd census: the process of create and start holds exactly fds 0, 1 and 2',
    async run(t) {
      const { created, fds } = await census(t);
      t.require(fds !== undefined, 'create succeeds', common.create, failure(created));
      t.equal([...fds!.keys()], [0, 1, 2], 'the container process holds stdin, stdout and stderr only', stdioOnly, {
        fds: describeFds(fds!),
      });
    },
  },
  {
    name: 'security_fds/preserve_fds',
    description: 'fd census: with two fds passed and --preserve-fds 2, exactly fds 0-4, 3 and 4 the caller\'s',
    async run(t) {
      const { created, fds, files } = await census(t, 2);
      t.require(fds !== undefined, 'create --preserve-fds 2 succeeds', passes, failure(created));
      const diag = { fds: describeFds(fds!) };
      t.equal([...fds!.keys()], [0, 1, 2, 3, 4], 'the container process holds fds 0-4 and nothing else', security.noFds, diag);
      t.equal([fds!.get(3), fds!.get(4)], files, 'fds 3 and 4 are the files the caller passed', passes, diag);
    },
  },
  {
    name: 'security_fds/preserve_fds_missing',
    description: 'fd census: --preserve-fds 5 with two fds passed fails or gives nothing the caller did not pass',
    async run(t) {
      const { created, fds, files } = await census(t, 5);
      if (fds === undefined) {
        t.note(`create --preserve-fds 5 fails: ${created.stderr.trim().split('\n').pop()}`);
        t.ok(true, 'create --preserve-fds 5 with two fds passed fails', security.noFds, failure(created));
        return;
      }
      t.note(`create --preserve-fds 5 succeeds; the container process holds ${describeFds(fds)}`);
      t.equal([fds.get(3), fds.get(4)], files, 'fds 3 and 4 are the files the caller passed', passes);
      // runtime-linux.md "File descriptors" lets a runtime point fds at /dev/null.
      const extra = [...fds].filter(([n]) => n > 4);
      t.ok(
        extra.every(([, target]) => target === '/dev/null'),
        'fds 5 and up are absent or /dev/null: none is the runtime\'s',
        security.noFds,
        { fds: describeFds(fds) },
      );
    },
  },
  {
    name: 'security_fds/listen_fds',
    description: 'socket activation: the runtime run with LISTEN_FDS=2 and fds 3, 4 passes them on, and the process sees LISTEN_FDS=2 and LISTEN_PID its own pid',
    async run(t) {
      const { created, fds, files, pid } = await census(t, undefined, activated(2));
      t.require(fds !== undefined, 'create with LISTEN_FDS=2 succeeds', passes, failure(created));
      const diag = { fds: describeFds(fds!) };
      t.equal([...fds!.keys()], [0, 1, 2, 3, 4], 'the container process holds fds 0-4 and nothing else', listenFds, diag);
      t.equal([fds!.get(3), fds!.get(4)], files, 'fds 3 and 4 are the files the caller passed', listenFds, diag);
      const env = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter((v) => v.startsWith('LISTEN_'));
      t.note(`the process's LISTEN_ variables: ${env.join(' ') || 'none'}`);
      const value = (name: string) => env.find((v) => v.startsWith(`${name}=`))?.slice(name.length + 1);
      t.equal(value('LISTEN_FDS'), '2', 'the process sees LISTEN_FDS=2', passes, { env });
      // the pid the process has in its own pid namespace, the last of NSpid
      const own = /^NSpid:.*\s(\d+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
      t.equal(value('LISTEN_PID'), own, 'the process sees LISTEN_PID its own pid', passes, { env, pid: own });
    },
  },
  {
    name: 'security_fds/listen_fds_other_pid',
    description: 'LISTEN_FDS=2 with LISTEN_PID another process\'s (fds 3, 4 open): the fds are not the runtime\'s to pass, the process holds 0-2',
    async run(t) {
      const { created, fds, pid } = await census(t, undefined, activated(2, '1'));
      t.require(fds !== undefined, 'create succeeds', common.create, failure(created));
      t.equal([...fds!.keys()], [0, 1, 2], 'the container process holds stdin, stdout and stderr only', stdioOnly, {
        fds: describeFds(fds!),
      });
      const env = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter((v) => v.startsWith('LISTEN_'));
      t.note(`the process's LISTEN_ variables: ${env.join(' ') || 'none'}`);
    },
  },
];
