import { accessSync, constants, existsSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { failure, type Case } from '../lib/context.js';
import { sleep } from '../lib/proc.js';
import { execed, runtimeExecutable, security } from '../lib/security.js';
import { common } from '../lib/spec.js';

/**
 * The probe, a second process in the created container with CAP_SYS_PTRACE: it opens the
 * init's executable while the init is still the runtime's, keeps the fd, waits for /out/go
 * (written once the container is started and the runtime's commands have exited), then
 * reopens the fd for writing and writes back the byte that is there (harmless if allowed).
 */
const PROBE = [
  'if (exec 3</proc/1/exe) 2>/out/open-error; then',
  '  exec 3</proc/1/exe; stat -L -c %d:%i /proc/self/fd/3 > /out/held',
  'else echo none > /out/held; fi',
  'while [ ! -e /out/go ]; do usleep 20000; done',
  'if [ "$(cat /out/held)" = none ]; then echo none > /out/result; exec sleep 1000; fi',
  // As the exploit does, try again while another process executes the file (ETXTBSY).
  'i=0; while [ $i -lt 50 ]; do i=$((i + 1))',
  '  if dd if=/proc/self/fd/3 of=/proc/self/fd/3 bs=1 count=1 conv=notrunc 2>/out/error; then echo written > /out/result; exec sleep 1000; fi',
  '  grep -q "Text file busy" /out/error || break; usleep 30000',
  'done',
  'echo "refused after $i tries" > /out/result',
  'exec sleep 1000',
].join('\n');

async function waitFile(path: string, timeoutMs: number): Promise<string | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (existsSync(path)) {
      const text = readFileSync(path, 'utf8').trim();
      if (text) return text;
    }
    await sleep(20);
  }
  return undefined;
}

export const cases: Case[] = [
  {
    name: 'security_exe',
    description:
      "CVE-2019-5736: a process with CAP_SYS_PTRACE that holds a created init's executable cannot write to it",
    async run(t) {
      const b = await t.bundle((c, b) => {
        b.process.args = ['sleep', '1000'];
        b.bindOut();
      });
      const init = await t.created(b);
      const exe = `/proc/${init}/exe`;
      const link = readlinkSync(exe);
      const st = statSync(exe);
      let access = 'writable';
      try {
        accessSync(exe, constants.W_OK);
      } catch (err) {
        access = (err as NodeJS.ErrnoException).code ?? String(err);
      }
      t.ok(
        link.startsWith('/memfd:') || access === 'EROFS',
        "the created init's executable is a memfd or on a read-only mount",
        security.noWrite,
        { exe: link, 'access(W_OK)': access },
      );
      const own = await runtimeExecutable(t, exe);
      t.note(
        own === undefined
          ? 'decoy unknown: the runtime executable could not be found'
          : own.relation === 'different'
            ? `decoy absent: the created init runs ${link}, not the runtime's executable ${own.link}`
            : `decoy: the created init runs the runtime's executable ${own.link} (${own.relation}; init's exe: ${link})`,
      );

      const probe = join(t.dir, 'probe.json');
      const caps = ['CAP_SYS_PTRACE'];
      writeFileSync(
        probe,
        JSON.stringify({
          terminal: false,
          user: { uid: 0, gid: 0 },
          args: ['sh', '-c', PROBE],
          env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'],
          cwd: '/',
          capabilities: { bounding: caps, effective: caps, permitted: caps },
        }),
      );
      const exec = await t.exec(b.id, probe);
      t.require(
        exec.ok,
        'exec of a process with CAP_SYS_PTRACE into the created container succeeds',
        security.threatModel,
        failure(exec),
      );
      const held = await waitFile(join(b.out, 'held'), 10_000);
      t.require(held !== undefined, 'the probe runs', security.threatModel, { stderr: b.outFile('open-error') });
      await t.started(b.id);
      t.require(await execed(init, 'sleep'), 'the container process runs its program', common.start);
      writeFileSync(join(b.out, 'go'), '');
      const result = await waitFile(join(b.out, 'result'), 15_000);
      const error = b.outFile('error')?.trim();
      if (held === 'none') {
        t.note(`the probe could not open /proc/1/exe: ${b.outFile('open-error')?.trim()}`);
        t.equal(result, 'none', 'the probe holds no executable to write to', security.noWrite);
        return;
      }
      t.note(
        held === `${st.dev}:${st.ino}`
          ? "the probe held the created init's executable"
          : `the probe held ${held}, the created init's executable was ${st.dev}:${st.ino}`,
      );
      if (result?.startsWith('refused')) t.note(`reopening it for writing, ${result}: ${error}`);
      t.ok(
        result?.startsWith('refused') === true,
        "reopening the held executable for writing, once the runtime's commands exited, fails",
        security.noWrite,
        { result, error },
      );
    },
  },
];
