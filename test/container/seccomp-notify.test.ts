import t, { type Test } from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, Sandbox, baseConfig, sharedRootfs, until } from '../helpers/containers.js';

/**
 * SCMP_ACT_NOTIFY with a real listener: conformance/lib/seccomp-agent.ts, which answers
 * mkdir with success without making anything and chmod with ENOMEDIUM, so what the
 * container sees can only have come from the agent.
 */

const rootfs = sharedRootfs(t);
const AGENT = join(REPO_ROOT, 'dist', 'conformance', 'lib', 'seccomp-agent.js');
const NOTIFIED = ['mkdir', 'mkdirat', 'chmod', 'fchmod', 'fchmodat', 'fchmodat2'];

interface Agent {
  socket: string;
  events: any[];
  proc: ChildProcess;
}

async function startAgent(t: Test, dir: string): Promise<Agent> {
  const socket = join(dir, 'agent.sock');
  const proc = spawn(process.execPath, [AGENT, socket], { stdio: ['ignore', 'pipe', 'inherit'] });
  const agent: Agent = { socket, events: [], proc };
  let rest = '';
  proc.stdout!.on('data', (chunk: Buffer) => {
    const lines = (rest + chunk.toString()).split('\n');
    rest = lines.pop()!;
    for (const line of lines) agent.events.push(JSON.parse(line));
  });
  t.teardown(() => {
    proc.kill('SIGKILL');
  });
  t.ok(await until(() => agent.events.some((e) => e.event === 'listening')), 'the agent listens');
  return agent;
}

/** A bundle whose /out is `out` on the host, with the notify profile. */
function notifyConfig(sb: Sandbox, out: string, socket: string, script: string, noNewPrivileges: boolean, names = NOTIFIED): any {
  const c = baseConfig(rootfs, ['sh', '-c', script]);
  c.process.noNewPrivileges = noNewPrivileges;
  c.mounts.push({ destination: '/out', type: 'bind', source: out, options: ['rbind', 'rw'] });
  c.annotations = { 'org.example.test': 'notify' };
  c.linux.seccomp = {
    defaultAction: 'SCMP_ACT_ALLOW', listenerPath: socket, listenerMetadata: 'meta=1',
    syscalls: [{ names, action: 'SCMP_ACT_NOTIFY' }],
  };
  return c;
}

function outDir(t: Test): string {
  const out = mkdtempSync(join(tmpdir(), 'runts-notify-'));
  t.teardown(() => rmSync(out, { recursive: true, force: true }));
  writeFileSync(join(out, 'file'), '');
  return out;
}

function fdTargets(pid: number): string[] {
  return readdirSync(`/proc/${pid}/fd`).map((fd) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      return '';
    }
  });
}

async function waitStopped(sb: Sandbox, id: string): Promise<boolean> {
  return until(() => sb.state(id).status === 'stopped', 10_000);
}

for (const noNewPrivileges of [false, true]) {
  t.test(`create and start, noNewPrivileges ${noNewPrivileges}: the agent answers mkdir and chmod`, async (t) => {
    const sb = new Sandbox(t);
    const agent = await startAgent(t, sb.dir);
    const out = outDir(t);
    const script = 'mkdir /out/made; echo "mkdir=$?" > /out/result; chmod 600 /out/file 2>> /out/result; echo "chmod=$?" >> /out/result';
    const bundle = sb.bundle(notifyConfig(sb, out, agent.socket, script, noNewPrivileges));
    const created = sb.runts(['create', '--bundle', bundle, 'n']);
    t.equal(created.status, 0, created.stderr);
    const pid = sb.state('n').pid;
    // the agent's lines arrive while the test's event loop runs
    await until(() => agent.events.some((e) => e.event === 'state'));
    const states = agent.events.filter((e) => e.event === 'state');
    t.equal(states.length, 1, 'one container process state, sent during create');
    t.same(states[0], {
      event: 'state', fds: 1,
      state: {
        ociVersion: '1.3.0', fds: ['seccompFd'], pid, metadata: 'meta=1',
        state: { ociVersion: '1.3.0', id: 'n', status: 'creating', pid, bundle, annotations: { 'org.example.test': 'notify' } },
      },
    }, 'the containerProcessState of runtime-spec, the fd with it');
    if (!noNewPrivileges) {
      t.match(readFileSync(`/proc/${pid}/status`, 'utf8'), /^Seccomp:\s+2$/m, 'the created init is under the filter');
    }
    t.notOk(fdTargets(pid).some((l) => l.includes('seccomp')), 'the init holds no listener fd');

    t.equal(sb.runts(['start', 'n']).status, 0);
    t.ok(await waitStopped(sb, 'n'), 'the container ran to its end');
    await until(() => agent.events.filter((e) => e.event === 'notify').length >= 2);
    const result = readFileSync(join(out, 'result'), 'utf8');
    t.match(result, /^mkdir=0$/m, 'mkdir succeeded inside (the agent said so)');
    t.notOk(existsSync(join(out, 'made')), '… and nothing was made outside');
    t.match(result, /chmod: \/out\/file: No medium found/, 'chmod failed with the agent\'s ENOMEDIUM');
    t.match(result, /^chmod=1$/m);
    t.equal(statSync(join(out, 'file')).mode & 0o777, 0o644, 'the file kept its mode');
    const calls = agent.events.filter((e) => e.event === 'notify').map((e) => e.syscall);
    t.ok(calls.some((c) => String(c).startsWith('mkdir')) && calls.some((c) => String(c).includes('chmod')), `notified: ${calls}`);
  });
}

t.test('startContainer hooks run under the filter and get no listener fd', async (t) => {
  const sb = new Sandbox(t);
  const agent = await startAgent(t, sb.dir);
  const out = outDir(t);
  const c = notifyConfig(sb, out, agent.socket, 'true', true);
  c.hooks = {
    startContainer: [{ path: '/bin/sh', args: ['sh', '-c', 'mkdir /out/hookdir; echo "hook-mkdir=$?" > /out/hook; ls -l /proc/self/fd >> /out/hook'] }],
  };
  const r = sb.runts(['run', '--bundle', sb.bundle(c), 'h']);
  t.equal(r.status, 0, r.stderr);
  const hook = readFileSync(join(out, 'hook'), 'utf8');
  t.match(hook, /^hook-mkdir=0$/m, 'the hook\'s mkdir was answered by the agent');
  t.notOk(existsSync(join(out, 'hookdir')), 'and not done');
  t.notMatch(hook, /seccomp/, 'no listener fd in the hook');
});

t.test('exec: its own filter, its own listener fd, the container running', async (t) => {
  const sb = new Sandbox(t);
  const agent = await startAgent(t, sb.dir);
  const out = outDir(t);
  const bundle = sb.bundle(notifyConfig(sb, out, agent.socket, 'sleep 60', false));
  t.equal(sb.runts(['run', '--detach', '--bundle', bundle, 'x']).status, 0);
  const initPid = sb.state('x').pid;
  const pidFile = join(sb.dir, 'exec.pid');
  const r = sb.runts(['exec', '--pid-file', pidFile, 'x', 'sh', '-c', 'mkdir /out/e && echo made; chmod 600 /out/file']);
  t.equal(r.status, 1, 'chmod failed');
  t.match(r.stdout, /^made$/m);
  t.match(r.stderr, /No medium found/);
  t.notOk(existsSync(join(out, 'e')));
  await until(() => agent.events.filter((e) => e.event === 'state').length >= 2);
  const states = agent.events.filter((e) => e.event === 'state');
  t.equal(states.length, 2, 'one state for the init, one for the exec');
  const execPid = Number(readFileSync(pidFile, 'utf8'));
  t.equal(states[1].state.pid, execPid, 'pid: the exec\'d process');
  t.equal(states[1].state.state.status, 'running');
  t.equal(states[1].state.state.pid, initPid, 'state.pid: the container\'s init');
});

t.test('no agent listening: create fails, naming the socket, and leaves nothing', async (t) => {
  const sb = new Sandbox(t);
  const out = outDir(t);
  const socket = join(sb.dir, 'nobody.sock');
  const r = sb.runts(['create', '--bundle', sb.bundle(notifyConfig(sb, out, socket, 'true', false)), 'a']);
  t.equal(r.status, 1);
  t.equal(r.stderr.trim(), `config.json: linux.seccomp.listenerPath: connect to the seccomp listener ${socket}: ENOENT: no such file or directory`);
  t.same(readdirSync(sb.root), [], 'no state left');
});

t.test('the agent dies: notified calls fail with ENOSYS and the container goes on', async (t) => {
  const sb = new Sandbox(t);
  const agent = await startAgent(t, sb.dir);
  const out = outDir(t);
  const bundle = sb.bundle(notifyConfig(sb, out, agent.socket, 'mkdir /out/late 2> /out/result; echo "mkdir=$?" >> /out/result', false));
  t.equal(sb.runts(['create', '--bundle', bundle, 'd']).status, 0);
  agent.proc.kill('SIGKILL');
  await until(() => agent.proc.exitCode !== null || agent.proc.signalCode !== null);
  t.equal(sb.runts(['start', 'd']).status, 0);
  t.ok(await waitStopped(sb, 'd'));
  const result = readFileSync(join(out, 'result'), 'utf8');
  t.match(result, /Function not implemented/);
  t.match(result, /^mkdir=1$/m);
});

for (const noNewPrivileges of [false, true]) {
  t.test(`the calls the setup itself makes may be notified (noNewPrivileges ${noNewPrivileges})`, async (t) => {
    const sb = new Sandbox(t);
    const agent = await startAgent(t, sb.dir);
    const out = outDir(t);
    const c = notifyConfig(sb, out, agent.socket, 'true', noNewPrivileges, ['execve', 'openat', 'open', 'read', 'close']);
    c.process.args = ['/bin/true'];
    const r = sb.runts(['run', '--bundle', sb.bundle(c), 's']);
    t.equal(r.status, 0, r.stderr);
    const execve = process.arch === 'arm64' ? 221 : 59;
    t.ok(await until(() => agent.events.some((e) => e.event === 'notify' && e.syscall === execve)), 'the agent saw the execve');
  });
}

t.test('a container in a user namespace: the runtime still takes the listener fd from its init', async (t) => {
  const sb = new Sandbox(t);
  const agent = await startAgent(t, sb.dir);
  const out = outDir(t);
  const c = notifyConfig(sb, out, agent.socket, 'mkdir /out/u; echo "mkdir=$?" > /out/result', false);
  c.linux.namespaces.push({ type: 'user' });
  c.linux.uidMappings = [{ containerID: 0, hostID: 0, size: 65536 }];
  c.linux.gidMappings = [{ containerID: 0, hostID: 0, size: 65536 }];
  const r = sb.runts(['run', '--bundle', sb.bundle(c), 'u']);
  t.equal(r.status, 0, r.stderr);
  t.match(readFileSync(join(out, 'result'), 'utf8'), /^mkdir=0$/m);
  t.notOk(existsSync(join(out, 'u')), 'answered by the agent, not done');
});
