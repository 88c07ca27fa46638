import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SPEC_VERSION_1_1 } from '../lib/config.js';
import { failure, parseKv, type Bundle, type Case, type CaseContext } from '../lib/context.js';
import { sleep } from '../lib/proc.js';
import { req } from '../lib/spec.js';

const payload = req(
  'config-linux.md',
  'The Container Process State',
  'The container runtime MUST send the container process state over the UNIX socket as regular payload serialized in JSON and file descriptors MUST be sent using `SCM_RIGHTS`.',
);
const seccompFd = req(
  'config-linux.md',
  'Seccomp',
  '`seccompFd` (string, REQUIRED) is the seccomp file descriptor returned by the seccomp syscall.',
);
const pidReq = req('config-linux.md', 'The Container Process State', '`pid` (int, REQUIRED) is the container process ID, as seen by the runtime.');
const metadata = req(
  'config-linux.md',
  'Seccomp',
  'This string will be sent as the `metadata` field in the container process state.',
);
const stateReq = req('config-linux.md', 'The Container Process State', '`state` (state, REQUIRED) is the state of the container.');
const action = req('config-linux.md', 'Seccomp', '`action` (string, REQUIRED) - the action for seccomp rules.');
const sendFails = req('config-linux.md', 'Seccomp', 'If sending to this socket fails, the runtime MUST generate an error.');

/** conformance/lib/seccomp-agent.ts: mkdir answered with success (nothing made), chmod with ENOMEDIUM. */
const AGENT = fileURLToPath(new URL('../lib/seccomp-agent.js', import.meta.url));

function notifyProfile(b: Bundle, socket: string): void {
  b.linux.seccomp = {
    defaultAction: 'SCMP_ACT_ALLOW',
    listenerPath: socket,
    listenerMetadata: 'conformance',
    syscalls: [{ names: ['mkdir', 'mkdirat', 'chmod', 'fchmod', 'fchmodat'], action: 'SCMP_ACT_NOTIFY' }],
  };
}

/** Starts the agent on `socket`; its events go to a file, read back as JSON lines. */
async function startAgent(t: CaseContext, dir: string): Promise<() => any[]> {
  const socket = join(dir, 'agent.sock');
  const events = join(dir, 'agent.events');
  writeFileSync(events, '');
  t.helper(process.execPath, [AGENT, socket, events]);
  const read = () => readFileSync(events, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  for (let i = 0; i < 250 && !read().some((e) => e.event === 'listening'); i++) await sleep(20);
  return read;
}

export const cases: Case[] = [
  {
    name: 'linux_seccomp_notify',
    description: 'SCMP_ACT_NOTIFY: the listener gets the container process state and the seccomp fd, and answers the calls',
    async run(t) {
      let socket = '';
      let events: () => any[] = () => [];
      const b = await t.bundle((c, b) => {
        c.ociVersion = SPEC_VERSION_1_1;
        socket = join(b.dir, 'agent.sock');
        b.bindOut();
        writeFileSync(join(b.out, 'file'), '');
        notifyProfile(b, socket);
        b.shell('mkdir /out/made; echo "mkdir=$?"; echo "chmod=$(chmod 600 /out/file 2>&1)"');
      });
      events = await startAgent(t, b.dir);
      const pid = await t.created(b);
      await t.started(b.id);
      await t.stopped(b.id);
      await t.deleted(b.id);
      // the spec does not say when: runc and runts send it during create, crun 1.8 at start
      const states = events().filter((e) => e.event === 'state');
      t.equal(states.length, 1, 'one container process state reaches the listener', payload, { events: events() });
      const s = states[0]?.state ?? {};
      t.equal(states[0]?.fds, 1, 'one fd comes with it (SCM_RIGHTS)', payload);
      t.equal(JSON.stringify(s.fds), '["seccompFd"]', 'fds names it seccompFd', seccompFd, { state: s });
      t.equal(s.pid, pid, 'pid is the container process as the runtime sees it', pidReq, { state: s });
      t.equal(s.metadata, 'conformance', 'metadata is listenerMetadata', metadata, { state: s });
      t.equal(s.state?.id, b.id, 'state is the container\'s state', stateReq, { state: s });
      const kv = parseKv(b.stdout());
      t.equal(kv.mkdir, '0', 'a notified mkdir returns what the listener answered (success)', action, { stdout: b.stdout() });
      t.ok(!existsSync(join(b.out, 'made')), 'and the kernel did not make the directory', action);
      t.ok((kv.chmod ?? '').includes('No medium found'), 'a notified chmod fails with the listener\'s ENOMEDIUM', action, { chmod: kv.chmod });
    },
  },
  {
    name: 'linux_seccomp_notify/no_listener',
    description: 'SCMP_ACT_NOTIFY with nobody listening on listenerPath: create fails',
    async run(t) {
      const b = await t.bundle((c, b) => {
        c.ociVersion = SPEC_VERSION_1_1;
        notifyProfile(b, join(b.dir, 'nobody.sock'));
        b.shell('true');
      });
      const r = await t.create(b);
      t.ok(!r.ok, 'create fails when the state cannot be sent to listenerPath', sendFails, failure(r));
    },
  },
];
