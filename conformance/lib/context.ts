import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { candidateDirs, removeTree } from './cgroups.js';
import { defaultConfig, type Config } from './config.js';
import { readMountInfo, type HostFacts } from './host.js';
import { killGroup, runCommand, sleep, type CommandResult } from './proc.js';
import { Runtime, type StateResult } from './runtime.js';
import { cite, common, type Requirement } from './spec.js';

export interface Case {
  /** The runtime-tools validation name, with "/variant" when one area has several cases. */
  name: string;
  /** What the case does, in one line. */
  description: string;
  timeoutMs?: number;
  run(t: CaseContext): Promise<void>;
}

export interface Assertion {
  ok: boolean;
  name: string;
  req: Requirement;
  diag?: Record<string, unknown>;
}

/** Everything a run shares between cases. */
export interface Suite {
  host: HostFacts;
  runtime: Runtime;
  /** The suite's temp dir; bundles and state live under it. */
  runDir: string;
  rootfsTemplate: string;
  /** The cgroup every container of this run goes under (absolute cgroupsPath). */
  cgroupParent: string;
  runId: string;
  /** How many creates the race cases (security_masked_paths) make. */
  raceRounds: number;
}

/** Thrown by t.skip(): the host lacks what the case needs. */
export class SkipCase extends Error {}
/** Thrown when a case cannot go on; the failed assertion is already recorded. */
export class StopCase extends Error {}
/** Thrown into a case that outlived its time limit, so it stops touching the runtime. */
export class CaseAborted extends Error {}

export class Bundle {
  readonly rootfs: string;
  readonly out: string;
  readonly stdoutPath: string;
  readonly stderrPath: string;

  constructor(
    readonly id: string,
    readonly dir: string,
    readonly config: Config,
  ) {
    this.rootfs = join(dir, 'rootfs');
    this.out = join(dir, 'out');
    this.stdoutPath = join(dir, 'container.stdout');
    this.stderrPath = join(dir, 'container.stderr');
  }

  get process() {
    if (!this.config.process) throw new Error('bundle has no process');
    return this.config.process;
  }

  get linux() {
    return (this.config.linux ??= {});
  }

  /** Runs a shell script as the container process. */
  shell(script: string): this {
    this.process.args = ['sh', '-c', script];
    return this;
  }

  /**
   * Bind-mounts the bundle's out/ directory at /out in the container: the way hooks that
   * run in the container and container processes with other stdio hand results back.
   */
  bindOut(): this {
    mkdirSync(this.out, { recursive: true });
    chmodSync(this.out, 0o777);
    (this.config.mounts ??= []).push({ destination: '/out', type: 'bind', source: this.out, options: ['rbind', 'rw'] });
    return this;
  }

  write(): void {
    writeFileSync(join(this.dir, 'config.json'), JSON.stringify(this.config, null, 2));
  }

  stdout(): string {
    return readText(this.stdoutPath);
  }

  stderr(): string {
    return readText(this.stderrPath);
  }

  outFile(name: string): string | undefined {
    const p = join(this.out, name);
    return existsSync(p) ? readFileSync(p, 'utf8') : undefined;
  }
}

function readText(path: string): string {
  return existsSync(path) ? readFileSync(path, 'utf8') : '';
}

/** Parses the "key=value" lines container scripts print. */
export function parseKv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

/**
 * What a case sees: assertions that name the requirement they check, bundles, the
 * runtime's operations, and a record of everything the case made so that cleanup can
 * undo it whatever happened.
 */
export class CaseContext {
  readonly assertions: Assertion[] = [];
  /** What the case observed that is worth reporting but is no assertion (printed as notes). */
  readonly notes: string[] = [];
  readonly dir: string;
  aborted = false;
  private bundles = 0;
  private readonly ids = new Set<string>();
  /** Containers the case deleted itself: cleanup need not ask the runtime about them. */
  private readonly gone = new Set<string>();
  private readonly helpers: number[] = [];
  private readonly mounts: string[] = [];
  private readonly cgroupDirs: string[] = [];
  private readonly links: string[] = [];

  constructor(
    readonly suite: Suite,
    readonly caseName: string,
    readonly index: number,
  ) {
    this.dir = join(suite.runDir, 'cases', `${index}-${caseName.replace(/[^A-Za-z0-9_-]/g, '_')}`);
    mkdirSync(this.dir, { recursive: true });
  }

  get host(): HostFacts {
    return this.suite.host;
  }

  get runtime(): Runtime {
    return this.suite.runtime;
  }

  // ---- assertions -------------------------------------------------------------------

  ok(cond: boolean, name: string, req: Requirement, diag?: Record<string, unknown>): boolean {
    this.assertions.push({ ok: cond, name, req, diag });
    return cond;
  }

  equal(actual: unknown, expected: unknown, name: string, req: Requirement, diag?: Record<string, unknown>): boolean {
    const same = isDeepStrictEqual(actual, expected);
    return this.ok(same, name, req, same ? diag : { ...diag, expected, found: actual });
  }

  /** An assertion whose failure leaves nothing more to check. */
  require(cond: boolean, name: string, req: Requirement, diag?: Record<string, unknown>): void {
    if (!this.ok(cond, name, req, diag)) throw new StopCase(`${name} (${cite(req)})`);
  }

  skip(reason: string): never {
    throw new SkipCase(reason);
  }

  note(text: string): void {
    this.notes.push(text);
  }

  // ---- bundles ----------------------------------------------------------------------

  newId(): string {
    const id = `${this.suite.runId}-${this.index}-${++this.bundles}`;
    this.ids.add(id);
    return id;
  }

  /**
   * A fresh bundle: its own copy of the busybox rootfs and the default configuration with
   * a cgroupsPath under the run's cgroup (or the configuration `base` gives), changed by `edit`. config.json is written when
   * the bundle is created through this context.
   */
  async bundle(edit?: (c: Config, b: Bundle) => void, base?: (id: string) => Config): Promise<Bundle> {
    const id = this.newId();
    const dir = join(this.dir, id);
    mkdirSync(dir, { recursive: true });
    const cp = await runCommand('cp', ['-a', this.suite.rootfsTemplate, join(dir, 'rootfs')], {
      timeoutMs: 30_000,
      scratch: this.dir,
    });
    if (!cp.ok) throw new Error(`cannot copy the rootfs: ${cp.stderr}`);
    const b = new Bundle(id, dir, base ? base(id) : defaultConfig(`/${this.suite.cgroupParent}/${id}`));
    edit?.(b.config, b);
    b.write();
    return b;
  }

  // ---- runtime operations (each refuses to run once the case timed out) -------------

  private check(): void {
    if (this.aborted) throw new CaseAborted('case timed out');
  }

  async create(
    b: Bundle,
    opts: {
      id?: string;
      bundlePath?: string;
      pidFile?: string;
      timeoutMs?: number;
      preserveFds?: number;
      extraFds?: number[];
      flags?: string[];
      launcher?: string[];
    } = {},
  ): Promise<CommandResult> {
    this.check();
    b.write();
    const id = opts.id ?? b.id;
    if (id) this.ids.add(id);
    return this.runtime.create(
      id,
      opts.bundlePath ?? b.dir,
      {
        pidFile: opts.pidFile,
        stdoutPath: b.stdoutPath,
        stderrPath: b.stderrPath,
        preserveFds: opts.preserveFds,
        extraFds: opts.extraFds,
        flags: opts.flags,
        launcher: opts.launcher,
      },
      opts.timeoutMs,
    );
  }

  /** `exec --detach --process FILE` into a container; its stdio go to files in the case's directory. */
  async exec(id: string, processPath: string, flags?: string[]): Promise<CommandResult> {
    this.check();
    return this.runtime.exec(id, {
      processPath, flags,
      stdoutPath: join(this.dir, `exec-${id}.stdout`),
      stderrPath: join(this.dir, `exec-${id}.stderr`),
    });
  }

  async start(id: string, timeoutMs?: number): Promise<CommandResult> {
    this.check();
    return this.runtime.start(id, timeoutMs);
  }

  async state(id: string): Promise<StateResult> {
    this.check();
    return this.runtime.state(id);
  }

  async kill(id: string, signal: string, all = false): Promise<CommandResult> {
    this.check();
    return this.runtime.kill(id, signal, all);
  }

  async delete(id: string, force = false, timeoutMs?: number): Promise<CommandResult> {
    this.check();
    const r = await this.runtime.delete(id, force, timeoutMs);
    if (r.ok) this.gone.add(id);
    return r;
  }

  async waitFor(id: string, want: string[], timeoutMs?: number): Promise<StateResult> {
    this.check();
    return this.runtime.waitFor(id, want, timeoutMs);
  }

  /** create, asserting that it succeeds: what a valid configuration must get. */
  async created(b: Bundle, req: Requirement = common.create): Promise<number> {
    const r = await this.create(b);
    this.require(r.ok, `create succeeds for ${b.id}`, req, failure(r));
    const s = await this.state(b.id);
    this.require(s.state?.pid !== undefined, 'state reports the container process pid', common.queryState, failure(s));
    return s.state?.pid ?? 0;
  }

  /** start, asserting that it succeeds. */
  async started(id: string): Promise<void> {
    const r = await this.start(id);
    this.require(r.ok, `start succeeds for ${id}`, common.start, failure(r));
  }

  /** Waits for the container process to exit, asserting that it does. */
  async stopped(id: string, timeoutMs?: number): Promise<void> {
    const s = await this.waitFor(id, ['stopped'], timeoutMs);
    this.require(s.state?.status === 'stopped', `container ${id} reaches "stopped"`, stoppedReq, failure(s));
  }

  /** Deletes a stopped container, asserting that delete succeeds. */
  async deleted(id: string): Promise<void> {
    const r = await this.delete(id);
    this.require(r.ok, `delete succeeds for stopped container ${id}`, common.deleteStopped, failure(r));
  }

  /**
   * The usual case: create, start, wait for the process to exit, delete; returns what the
   * container printed on stdout.
   */
  async runToExit(b: Bundle): Promise<string> {
    await this.created(b);
    await this.started(b.id);
    await this.stopped(b.id);
    await this.deleted(b.id);
    return b.stdout();
  }

  /** Waits until the container has printed `text` on stdout; false after the time limit. */
  async printed(b: Bundle, text: string, timeoutMs = 5000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!b.stdout().includes(text)) {
      this.check();
      if (Date.now() > deadline) return false;
      await sleep(20);
    }
    return true;
  }

  // ---- things a case makes outside the runtime ---------------------------------------

  /** A network interface the case made on the host: deleted at cleanup if still there. */
  hostLink(name: string): void {
    this.links.push(name);
  }

  /** Starts a long-lived helper process (e.g. a namespace holder), killed at cleanup. */
  helper(file: string, args: string[]): number {
    const child = spawn(file, args, { stdio: 'ignore', detached: true });
    child.unref();
    if (child.pid === undefined) throw new Error(`cannot start ${file}`);
    this.helpers.push(child.pid);
    return child.pid;
  }

  /**
   * Runs mount(8); a mount that makes a new mount names its target, which cleanup then
   * unmounts (a propagation change has none).
   */
  async mount(args: string[], target?: string): Promise<void> {
    this.check();
    const r = await runCommand('mount', args, { timeoutMs: 10_000, scratch: this.dir });
    if (!r.ok) throw new Error(`mount ${args.join(' ')}: ${r.stderr.trim()}`);
    if (target) this.mounts.push(target);
  }

  /** Whether something is mounted at `path` in the suite's mount namespace. */
  mounted(path: string): boolean {
    return readMountInfo().some((m) => m.mountPoint === path);
  }

  /** Makes a cgroup directory the case owns; cleanup removes it. */
  mkCgroup(dir: string): void {
    mkdirSync(dir, { recursive: true });
    this.cgroupDirs.push(dir);
  }

  // ---- cleanup ----------------------------------------------------------------------

  /**
   * Undoes everything the case made, in reverse: containers (SIGKILL, then delete
   * --force), helper processes, mounts, cgroups, then its directory. Returns what it had
   * to clean up that the runtime should already have removed, for the report.
   */
  async cleanup(): Promise<string[]> {
    const notes: string[] = [];
    for (const id of [...this.ids].filter((x) => !this.gone.has(x))) {
      const s = await this.runtime.state(id);
      if (!s.ok) continue;
      await this.runtime.kill(id, 'KILL');
      await this.runtime.waitFor(id, ['stopped'], 3000);
      await this.runtime.delete(id, true);
      if ((await this.runtime.state(id)).ok) notes.push(`container ${id} survived delete --force`);
    }
    for (const pid of this.helpers) killGroup(pid);
    for (const target of this.mounts.reverse()) await unmount(target, this.dir);
    for (const m of readMountInfo()
      .filter((x) => x.mountPoint.startsWith(`${this.dir}/`))
      .reverse()) {
      notes.push(`unmounted leftover ${m.mountPoint}`);
      await unmount(m.mountPoint, this.suite.runDir);
    }
    for (const dir of this.cgroupDirs.reverse()) removeTree(dir);
    for (const link of this.links) {
      if (existsSync(`/sys/class/net/${link}`)) await runCommand('ip', ['link', 'del', link], { timeoutMs: 10_000, scratch: this.dir });
    }
    for (const id of this.ids) {
      for (const dir of candidateDirs(this.host, join(this.suite.cgroupParent, id))) {
        for (const removed of removeTree(dir)) notes.push(`removed leftover cgroup ${removed}`);
      }
    }
    if (readMountInfo().some((x) => x.mountPoint.startsWith(`${this.dir}/`))) {
      notes.push(`kept ${this.dir}: mounts remain under it`);
    } else {
      rmSync(this.dir, { recursive: true, force: true });
    }
    return notes;
  }
}

const stoppedReq: Requirement = {
  doc: 'runtime.md',
  section: 'State',
  text: '`stopped`: the container process has exited (step 10 in the lifecycle)',
};

/** Diagnostics of a failed command, for the TAP report. */
export function failure(r: CommandResult): Record<string, unknown> {
  const d: Record<string, unknown> = { command: r.command, exit: r.timedOut ? 'timed out' : (r.code ?? r.signal) };
  if (r.stderr.trim()) d.stderr = r.stderr.trim().slice(0, 600);
  if (r.stdout.trim()) d.stdout = r.stdout.trim().slice(0, 600);
  return d;
}

async function unmount(target: string, scratch: string): Promise<void> {
  const r = await runCommand('umount', [target], { timeoutMs: 10_000, scratch });
  if (!r.ok) await runCommand('umount', ['-l', target], { timeoutMs: 10_000, scratch });
}
