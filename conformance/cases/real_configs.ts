import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SCRIPTS } from '../fixtures/real-configs/scripts.js';
import { capMask } from '../lib/caps.js';
import type { Config } from '../lib/config.js';
import { failure, type Bundle, type Case, type CaseContext } from '../lib/context.js';
import { engineRun, keyValues, leftovers, ttyRun } from '../lib/engine.js';
import { runCommand, sleep } from '../lib/proc.js';
import { candidateDirs } from '../lib/cgroups.js';
import { common, req } from '../lib/spec.js';

/**
 * The configs engines really write (fixtures/real-configs/, captured from Podman and from
 * containerd's CRI plugin by capture.ts there) and the ones `runc spec` and `crun spec`
 * write, run as engines run them: create and start from a child subreaper that waits for
 * the container process, or `run` in a terminal for the `spec` defaults. Each must
 * create, run its process with what the config asks for, end with the program's exit
 * status, and leave nothing behind. `real_configs/podman` drives Podman itself with the
 * runtime under test.
 */

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
const FIXTURES = join(repoRoot, 'conformance/fixtures/real-configs');

const exitStatus = req(
  'runtime.md',
  'Start',
  'This operation MUST run the user-specified program as specified by `process`.',
);
const seccompReq = req('config-linux.md', 'Seccomp', '`defaultAction` (string, REQUIRED) - the default action for seccomp.');
const capsReq = req(
  'config.md',
  'Linux Process',
  '`effective` (array of strings, OPTIONAL) the `effective` field is an array of effective capabilities that are kept for the process.',
);
const nnpReq = req(
  'config.md',
  'Linux Process',
  '`noNewPrivileges` (bool, OPTIONAL) setting `noNewPrivileges` to true prevents the process from gaining additional privileges.',
);
const maskedReq = req(
  'config-linux.md',
  'Masked Paths',
  '`maskedPaths` (array of strings, OPTIONAL) will mask over the provided paths inside the container so that they cannot be read.',
);
const readonlyReq = req(
  'config-linux.md',
  'Readonly Paths',
  '`readonlyPaths` (array of strings, OPTIONAL) will set the provided paths as readonly inside the container.',
);
const mountsReq = req('config.md', 'Mounts', 'The runtime MUST mount entries in the listed order.');
const bindReq = req(
  'config.md',
  'Mounts',
  '`source` (string, OPTIONAL) A device name, but can also be a file or directory name for bind mounts or a dummy.',
);
const rootRo = req(
  'config.md',
  'Root',
  '`readonly` (bool, OPTIONAL) If true then the root filesystem MUST be read-only inside the container, defaults to false.',
);
const hostnameReq = req(
  'config.md',
  'Hostname',
  "`hostname` (string, OPTIONAL) specifies the container's hostname as seen by processes running inside the container.",
);
const joinReq = req(
  'config-linux.md',
  'Namespaces',
  'The runtime MUST place the container process in the namespace associated with that `path`.',
);
const propagationReq = req(
  'config.md',
  'Linux mount options',
  'Runtimes MUST/SHOULD/MAY implement the following option strings for Linux:',
);

interface Captured {
  engine: string;
  command: string;
  sources: Record<string, 'file' | 'dir'>;
  exitCode?: number;
}

function fixture(name: string): { config: Config; meta: Captured } {
  const index = JSON.parse(readFileSync(join(FIXTURES, 'captured.json'), 'utf8')) as Record<string, Captured>;
  return { config: JSON.parse(readFileSync(join(FIXTURES, `${name}.config.json`), 'utf8')), meta: index[name] };
}

/**
 * Points a captured config at this case, the only changes made to it (fixtures' README):
 * the rootfs, the cgroupsPath (under the run's cgroup), namespace paths (to stand-ins the
 * case made), and bind-mount sources that were the engine's own files (to files or
 * directories of the same kind under the bundle's host/). Returns that host/ directory.
 */
function localize(t: CaseContext, b: Bundle, meta: Captured, nsPaths: Record<string, string> = {}): string {
  const c = b.config;
  c.root = { ...c.root, path: b.rootfs };
  c.linux!.cgroupsPath = `/${t.suite.cgroupParent}/${b.id}`;
  for (const ns of c.linux?.namespaces ?? []) {
    if (ns.path === undefined) continue;
    const stand = nsPaths[ns.type];
    if (!stand) throw new Error(`no stand-in for the ${ns.type} namespace ${ns.path}`);
    ns.path = stand;
  }
  const host = join(b.dir, 'host');
  mkdirSync(host, { recursive: true });
  for (const m of c.mounts ?? []) {
    const kind = m.source ? meta.sources[m.source] : undefined;
    if (!kind) continue;
    m.source = join(host, m.destination.replaceAll('/', '_'));
    if (kind === 'dir') mkdirSync(m.source, { recursive: true });
    else writeFileSync(m.source, '');
  }
  return host;
}

/** Checks what every engine's config asks for (scripts.ts, COMMON), from the container's own output. */
function checkCommon(t: CaseContext, kv: Record<string, string>, c: Config): void {
  const p = c.process!;
  if (c.linux?.seccomp) t.equal(kv.seccomp, '2', 'the process runs under the seccomp filter', seccompReq);
  t.equal(kv.capeff, capMask(p.capabilities?.effective ?? []), 'the effective capabilities asked for', capsReq);
  t.equal(kv.nonewprivs, p.noNewPrivileges ? '1' : '0', 'no_new_privs as asked', nnpReq);
  t.ok(/^\S+ \S+$/.test(kv.masked ?? ''), '/proc/keys and /proc/acpi are masked (something is mounted over each)', maskedReq, {
    found: kv.masked,
  });
  t.equal(kv.procsys, 'ro', '/proc/sys is mounted read-only', readonlyReq);
  t.ok((kv.proc ?? '').startsWith('proc dev=tmpfs'), '/proc is a procfs and /dev a tmpfs', mountsReq, { found: kv.proc });
}

/** The container ended with the program's status, then leaves nothing behind once deleted. */
async function checkEnd(t: CaseContext, b: Bundle, r: { code: number | null }, want: number, d: Record<string, unknown>) {
  t.equal(r.code, want, `the process ran and its exit status ${want} reached the caller`, exitStatus, d);
  if (r.code !== null && r.code >= 250) return;
  const s = await t.state(b.id);
  if (s.ok) {
    t.equal(s.state?.status, 'stopped', 'the container is stopped once its process has exited', common.queryState);
    await t.deleted(b.id);
  }
  const left = await leftovers(t, b, `${t.suite.cgroupParent}/${b.id}`);
  t.equal(left, [], 'no state, cgroup, process or mount is left', common.deleteStopped);
}

/** A process holding a new network namespace: the stand-in for the one Podman made. */
async function netns(t: CaseContext): Promise<string> {
  const pid = t.helper('unshare', ['--net', 'sleep', '600']);
  const own = readlinkSync('/proc/self/ns/net');
  for (let i = 0; i < 200; i++) {
    try {
      if (readlinkSync(`/proc/${pid}/ns/net`) !== own) return `/proc/${pid}/ns/net`;
    } catch {
      // not yet
    }
    await sleep(10);
  }
  throw new Error('the network namespace holder did not start');
}

function podmanCase(name: string, description: string, check: (t: CaseContext, kv: Record<string, string>, b: Bundle) => void): Case {
  return {
    name: `real_configs/${name.replaceAll('-', '_')}`,
    description,
    async run(t) {
      const { config, meta } = fixture(name);
      const b = await t.bundle(undefined, () => config);
      localize(t, b, meta, { network: await netns(t) });
      const r = await engineRun(t, b);
      const kv = keyValues(b.stdout());
      t.note(`captured from ${meta.engine}: ${meta.command}`);
      checkCommon(t, kv, b.config);
      check(t, kv, b);
      await checkEnd(t, b, r, meta.exitCode!, { ...failure(r), stdout: b.stdout(), stderr: b.stderr() });
    },
  };
}

function specCase(runtime: string, path: string): Case {
  return {
    name: `real_configs/${runtime}_spec`,
    description: `the config \`${runtime} spec\` writes (made at run time) runs with \`run\` in a terminal`,
    async run(t) {
      if (!existsSync(path)) t.skip(`${path} is not installed`);
      const dir = mkdtempSync(join(t.dir, 'spec-'));
      const spec = spawnSync(path, ['spec'], { cwd: dir, encoding: 'utf8' });
      t.require(spec.status === 0, `${runtime} spec writes a config`, common.create, { stderr: spec.stderr });
      const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Config;
      rmSync(dir, { recursive: true, force: true });
      const b = await t.bundle(undefined, () => config);
      localize(t, b, { engine: runtime, command: 'spec', sources: {} });
      // Its args are an interactive shell: the one change, a program that reports and exits.
      b.config.process!.args = ['sh', '-c', `${SCRIPTS['spec-default']}`];
      const r = await ttyRun(t, b);
      const kv = keyValues(b.stdout());
      t.equal(kv.tty, 'tty', 'the process has a terminal (process.terminal)', common.start, { stdout: b.stdout() });
      t.equal(kv.capeff, capMask(config.process!.capabilities?.effective ?? []), 'the effective capabilities asked for', capsReq);
      t.equal(kv.nonewprivs, config.process!.noNewPrivileges ? '1' : '0', 'no_new_privs as asked', nnpReq);
      t.equal(kv.hostname, config.hostname, 'the hostname asked for', hostnameReq);
      t.equal(kv.rootfs, config.root.readonly ? 'read-only' : 'writable', 'the root is read-only as asked', rootRo);
      await checkEnd(t, b, r, 7, { ...failure(r), stdout: b.stdout(), stderr: b.stderr() });
    },
  };
}

export const cases: Case[] = [
  podmanCase('podman-default', "the config Podman 4.3 writes for `podman run` (Debian's seccomp.json, its network namespace joined)", (t, kv, b) => {
    t.equal(kv.hostname, b.config.hostname, 'the hostname asked for', hostnameReq);
  }),
  podmanCase('podman-tmpfs-volume', 'the config Podman writes for `run --tmpfs /scratch -v DIR:/data` (tmpcopyup, a bind volume)', (t, kv, b) => {
    t.equal(kv.scratch, 'tmpfs', '--tmpfs /scratch is a tmpfs', mountsReq);
    t.equal(kv.data, 'written', 'the volume can be written', bindReq);
    const source = b.config.mounts!.find((m) => m.destination === '/data')!.source!;
    t.equal(readText(join(source, 'written')), 'from-container\n', 'what the container wrote is in the host directory', bindReq);
  }),
  podmanCase('podman-read-only', 'the config Podman writes for `run --read-only` (tmpfs with tmpcopyup on /tmp, /run, /var/tmp)', (t, kv) => {
    t.equal(kv.etc, 'read-only', 'the root filesystem is read-only', rootRo);
    t.equal(kv.tmp, 'tmpfs writable', '/tmp is a writable tmpfs', mountsReq);
  }),
  {
    name: 'real_configs/cri_pod',
    description:
      "the configs containerd 1.6's CRI plugin writes for a pod: the sandbox, and an app container joining its namespaces with Bidirectional, HostToContainer and read-only volumes",
    timeoutMs: 120_000,
    async run(t) {
      const sandbox = fixture('cri-sandbox');
      const app = fixture('cri-app');
      t.note(`captured from ${sandbox.meta.engine}`);
      const sb = await t.bundle(undefined, () => sandbox.config);
      localize(t, sb, sandbox.meta);
      const pid = await t.created(sb);
      await t.started(sb.id);
      const running = await t.waitFor(sb.id, ['running']);
      t.require(running.state?.status === 'running', 'the sandbox runs', common.start, failure(running));
      t.equal(status(pid, 'Seccomp'), '2', "the sandbox's process runs under the RuntimeDefault seccomp filter", seccompReq);

      const ab = await t.bundle(undefined, () => app.config);
      const ns = (type: string) => `/proc/${pid}/ns/${type}`;
      const host = localize(t, ab, app.meta, { pid: ns('pid'), ipc: ns('ipc'), uts: ns('uts'), network: ns('net') });
      // The volumes live on a shared mount, as the CRI plugin requires for Bidirectional.
      await t.mount(['--bind', host, host], host);
      await t.mount(['--make-rshared', host]);
      const vol = (dest: string) => join(host, dest.replaceAll('/', '_'));
      for (const v of ['/shared', '/slave']) mkdirSync(join(vol(v), 'sub'));
      const run = engineRun(t, ab);
      // Once the app runs, mount on the host under both volumes: both must reach it.
      const up = await t.waitFor(ab.id, ['running', 'stopped']);
      if (up.state?.status === 'running') {
        for (const v of ['/shared', '/slave']) {
          const sub = join(vol(v), 'sub');
          await t.mount(['-t', 'tmpfs', 'tmpfs', sub], sub);
          writeFileSync(join(sub, 'mark'), 'from-host');
        }
      }
      const r = await run;
      const kv = keyValues(ab.stdout());
      checkCommon(t, kv, ab.config);
      t.equal(
        kv.pidns,
        `${readlinkSync(ns('pid'))} ipcns=${readlinkSync(ns('ipc'))}`,
        "the app is in the sandbox's pid and ipc namespaces",
        joinReq,
      );
      t.equal(kv.pid1, `${sandbox.config.process!.args.join(' ')} `, "the sandbox's process is pid 1 there", joinReq);
      t.ok(/^shared:\d+ slave=master:\d+$/.test(kv.shared ?? ''), 'the Bidirectional volume is shared, the HostToContainer one a slave', propagationReq, {
        found: kv.shared,
      });
      t.equal(kv.ro, 'read-only', 'the read-only volume is read-only', bindReq);
      t.equal(kv.slave_sees, 'from-host shared_sees=from-host', "a mount made on the host under each volume reaches the app", propagationReq);
      await checkEnd(t, ab, r, app.meta.exitCode!, { ...failure(r), stdout: ab.stdout(), stderr: ab.stderr() });

      await t.kill(sb.id, 'KILL');
      await t.stopped(sb.id);
      await t.deleted(sb.id);
      const left = await leftovers(t, sb, `${t.suite.cgroupParent}/${sb.id}`);
      t.equal(left, [], 'nothing of the sandbox is left', common.deleteStopped);
    },
  },
  {
    name: 'real_configs/podman',
    description:
      'Podman 4.3 on the runtime (cgroupfs manager, its own storage): run --rm, --tmpfs, -v, --read-only, run -d, exec, stop, rm',
    timeoutMs: 300_000,
    run: podmanEndToEnd,
  },
  specCase('runc', '/usr/sbin/runc'),
  specCase('crun', '/usr/bin/crun'),
];

/** Podman itself, with the runtime under test as its --runtime, as an operator would use it. */
async function podmanEndToEnd(t: CaseContext): Promise<void> {
  if (!existsSync('/usr/bin/podman')) t.skip('podman is not installed');
  const work = join(t.dir, 'podman');
  mkdirSync(work);
  // Its own storage, state and temp dirs, so nothing meets other users of Podman; no
  // systemd on the hosts the suite runs on, hence cgroupfs and file events.
  // (Podman refuses a runroot longer than 50 characters: that one has a short path.)
  const short = mkdtempSync(join(tmpdir(), 'rcpm-'));
  const base = ['--root', join(work, 'root'), '--runroot', join(short, 'run'), '--tmpdir', join(short, 'tmp')];
  base.push('--cgroup-manager=cgroupfs', '--events-backend=file', '--runtime', t.runtime.path);
  const podman = (args: string[], timeoutMs = 60_000) => runCommand('podman', [...base, ...args], { timeoutMs, scratch: t.dir });
  const image = 'localhost/conformance:real';
  const ids: string[] = [];
  try {
    const tar = join(work, 'rootfs.tar');
    const packed = await runCommand('tar', ['-C', t.suite.rootfsTemplate, '-cf', tar, '.'], { timeoutMs: 60_000, scratch: t.dir });
    t.require(packed.ok, 'the image tarball is made', common.create, failure(packed));
    const imported = await podman(['import', '--change', 'CMD=/bin/sh', tar, image], 120_000);
    t.require(imported.ok, 'podman imports the image', common.create, failure(imported));
    // Podman asks for RLIMIT_NOFILE 1048576; without CAP_SYS_RESOURCE no runtime can raise
    // its hard limit that far (README.md, "Using runts from Podman and containerd").
    const limits = ['--ulimit', 'nofile=4096:4096', '--ulimit', 'nproc=4096:4096'];
    const run = async (flags: string[], script: string) => {
      const cid = join(work, `cid-${ids.length}`);
      const r = await podman(['run', '--cidfile', cid, ...limits, ...flags, image, 'sh', '-c', script], 120_000);
      if (existsSync(cid)) ids.push(readFileSync(cid, 'utf8').trim());
      return r;
    };

    const plain = await run(['--rm'], 'echo hello; exit 3');
    t.equal(plain.code, 3, 'podman run --rm reports the exit status 3', exitStatus, failure(plain));
    t.equal(plain.stdout, 'hello\n', 'and what the process printed', common.start, failure(plain));

    const volume = join(work, 'volume');
    mkdirSync(volume);
    const fs = `awk '$5 == "/scratch" { for (i = 7; $i != "-"; i++); print $(i + 1) }' /proc/self/mountinfo`;
    const mounted = await run(['--rm', '--tmpfs', '/scratch', '-v', `${volume}:/data`], `${fs}; echo from-container > /data/written`);
    t.equal(mounted.stdout, 'tmpfs\n', 'run --tmpfs /scratch gives a tmpfs', mountsReq, failure(mounted));
    t.equal(readText(join(volume, 'written')), 'from-container\n', 'run -v writes into the host directory', bindReq, failure(mounted));

    const ro = await run(['--rm', '--read-only'], 'touch /etc/probe 2>/dev/null && echo writable || echo read-only; touch /tmp/probe && echo tmp-writable');
    t.equal(ro.stdout, 'read-only\ntmp-writable\n', 'run --read-only: the root is read-only, /tmp a writable tmpfs', rootRo, failure(ro));

    const name = `conformance-${t.suite.runId}`;
    const detached = await run(['-d', '--name', name], 'sleep 600');
    t.require(detached.ok, 'podman run -d starts a container', common.start, failure(detached));
    const exec = await podman(['exec', name, 'sh', '-c', 'echo in-exec; exit 4']);
    t.equal(exec.code, 4, 'podman exec reports the exit status 4', exitStatus, failure(exec));
    t.equal(exec.stdout, 'in-exec\n', 'and what the process printed', common.start, failure(exec));
    const stop = await podman(['stop', '--time', '2', name]);
    t.ok(stop.ok, 'podman stop stops it', common.kill, failure(stop));
    const state = await podman(['inspect', '--format', '{{.State.Status}}', name]);
    t.equal(state.stdout.trim(), 'exited', 'podman sees it exited', common.queryState, failure(state));
    const rm = await podman(['rm', name]);
    t.ok(rm.ok, 'podman rm removes it', common.deleteStopped, failure(rm));

    const all = await podman(['ps', '--all', '--quiet']);
    t.equal(all.stdout, '', 'podman has no container left', common.deleteStopped, failure(all));
    const cgroups = ids.flatMap((id) => candidateDirs(t.host, `libpod_parent/libpod-${id}`)).filter((d) => existsSync(d));
    t.equal(cgroups, [], "no container's cgroup is left", common.deleteStopped);
  } finally {
    await podman(['rm', '--all', '--force'], 120_000);
    await podman(['rmi', '--all', '--force'], 120_000);
    rmSync(short, { recursive: true, force: true });
  }
}

function readText(path: string): string | undefined {
  return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
}

/** A field of /proc/<pid>/status. */
function status(pid: number, field: string): string | undefined {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${field}:`));
  return line?.split(/\s+/)[1];
}
