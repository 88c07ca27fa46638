import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { memberships, readCgroupFile } from '../lib/cgroups.js';
import { failure, type Case, type CaseContext } from '../lib/context.js';
import { procStat } from '../lib/host.js';
import { sleep } from '../lib/proc.js';
import { common, runcReq } from '../lib/spec.js';

const all = runcReq('kill', '--all, -a  send the specified signal to all processes inside the container');

/** The container's cgroup directories, one per hierarchy its init is in (named after it). */
function cgroupDirsOf(t: CaseContext, pid: number, id: string): string[] {
  const dirs = memberships(t.host, pid)
    .map((m) => join(m.hierarchy.mountPoint, m.path))
    .filter((d) => d.endsWith(`/${id}`));
  t.require(dirs.length > 0, 'the container has cgroups of its own', common.createApplies, { pid });
  return dirs;
}

/** The pids in a cgroup directory (none when it is gone). */
function procs(dir: string): number[] {
  return (readCgroupFile(dir, 'cgroup.procs') ?? '').split('\n').filter(Boolean).map(Number);
}

/** Whether a process is gone or a zombie. */
function dead(pid: number): boolean {
  const s = procStat(pid);
  return s === undefined || s.state === 'Z';
}

/** Waits until `pred` holds, at most 5 s. */
async function until(pred: () => boolean): Promise<boolean> {
  for (let i = 0; i < 250 && !pred(); i++) await sleep(20);
  return pred();
}

/** Waits until the cgroup holds `n` processes, then returns them. */
async function holding(t: CaseContext, dir: string, n: number): Promise<number[]> {
  const ok = await until(() => procs(dir).length === n);
  t.require(ok, `the container's cgroup holds ${n} processes`, common.start, { procs: procs(dir) });
  return procs(dir);
}

/** `exec --detach` of `sleep 1000` into a container. */
async function execSleep(t: CaseContext, id: string): Promise<void> {
  const file = join(t.dir, `process-${id}.json`);
  writeFileSync(file, JSON.stringify({ args: ['sleep', '1000'], cwd: '/', user: { uid: 0, gid: 0 }, env: ['PATH=/bin:/usr/bin'] }));
  const r = await t.exec(id, file);
  t.require(r.ok, `exec --detach sleep 1000 into ${id} succeeds`, common.start, failure(r));
}

/** `kill --all ID KILL`, then: every one of `pids` dead, every cgroup of the container empty. */
async function killAll(t: CaseContext, id: string, pids: number[], dirs: string[], what: string): Promise<void> {
  const r = await t.kill(id, 'KILL', true);
  t.ok(r.ok, `kill --all ${what} KILL succeeds`, all, failure(r));
  const alive = () => pids.filter((p) => !dead(p));
  await until(() => alive().length === 0);
  t.equal(alive(), [], `every process of the container (${pids.length}) is dead`, all, { pids });
  const left = () => [...new Set(dirs.flatMap((d) => procs(d)))];
  await until(() => left().length === 0);
  t.equal(left(), [], 'the container\'s cgroups are empty', all, { dirs });
}

/** A pod container (its init reaps what is left to it) and its init's pid. */
async function pod(t: CaseContext) {
  const b = await t.bundle((c, b) => b.shell('while :; do sleep 1; done'));
  const init = await t.created(b);
  await t.started(b.id);
  return { b, init };
}

/** A container bundle joining the pid namespace of the process `pid`, running `script`. */
function joining(t: CaseContext, pid: number, script: string) {
  return t.bundle((c, b) => {
    b.linux.namespaces!.find((n) => n.type === 'pid')!.path = `/proc/${pid}/ns/pid`;
    b.shell(script);
  });
}

export const cases: Case[] = [
  {
    name: 'kill_all',
    description: 'kill --all KILL of a running container reaches the init, a process it forked in the background and an exec\'d one; its cgroups end empty',
    async run(t) {
      const b = await t.bundle((c, b) => b.shell('sleep 1000 & exec sleep 1000'));
      const init = await t.created(b);
      await t.started(b.id);
      const dirs = cgroupDirsOf(t, init, b.id);
      const pidsDir = dirs[0];
      await holding(t, pidsDir, 2);
      await execSleep(t, b.id);
      const pids = await holding(t, pidsDir, 3);
      await killAll(t, b.id, pids, dirs, 'of a running container');
      await t.stopped(b.id);
      await t.deleted(b.id);
    },
  },
  {
    name: 'kill_all/created',
    description: 'kill --all KILL of a created container kills its waiting init; the container is stopped and its cgroups empty',
    async run(t) {
      const b = await t.bundle((c, b) => b.shell('exec sleep 1000'));
      const init = await t.created(b);
      const dirs = cgroupDirsOf(t, init, b.id);
      await killAll(t, b.id, [init], dirs, 'of a created container');
      await t.stopped(b.id);
      await t.deleted(b.id);
    },
  },
  {
    name: 'kill_all/shared_pid',
    description:
      'a container joining a pod\'s pid namespace: once its init is killed its other processes live on, and kill --all KILL of the stopped container (what containerd\'s shim sends) kills them; the pod\'s init lives',
    async run(t) {
      const { init: podInit } = await pod(t);
      const b = await joining(t, podInit, 'sleep 1000 & exec sleep 1000');
      const init = await t.created(b);
      await t.started(b.id);
      const dirs = cgroupDirsOf(t, init, b.id);
      const pidsDir = dirs[0];
      await holding(t, pidsDir, 2);
      await execSleep(t, b.id);
      const pids = await holding(t, pidsDir, 3);

      const k = await t.kill(b.id, 'KILL');
      t.require(k.ok, 'kill KILL of the container\'s init succeeds', common.kill, failure(k));
      await t.stopped(b.id);
      const rest = pids.filter((p) => p !== init);
      t.require(
        rest.every((p) => !dead(p)),
        'the kernel leaves the other processes of a shared pid namespace running when the init dies',
        common.kill,
        { pids },
      );
      await killAll(t, b.id, rest, dirs, 'of the stopped container');
      t.ok(!dead(podInit), 'the pod\'s init, in the same pid namespace but another cgroup, lives', all, { pod: podInit });
      await t.deleted(b.id);
    },
  },
  {
    name: 'kill_all/forking',
    description:
      'in a pod\'s pid namespace, three chains of processes that each fork a child and exit: kill --all KILL must leave no process behind, as if all got the signal at once',
    async run(t) {
      const { init: podInit } = await pod(t);
      // each process of a chain forks the next and exits: a pid read a moment ago is gone
      const b = await joining(t, podInit, 'hop() { hop & exit 0; }; for i in 1 2 3; do hop & done; echo ready; exec sleep 1000');
      const init = await t.created(b);
      const dirs = cgroupDirsOf(t, init, b.id);
      await t.started(b.id);
      t.require(await t.printed(b, 'ready'), 'the container process runs its program', common.start);
      const r = await t.kill(b.id, 'KILL', true);
      t.ok(r.ok, 'kill --all KILL of the container succeeds', all, failure(r));
      // a process the signal missed goes on hopping for as long as it is given
      await sleep(1000);
      const left = [...new Set(dirs.flatMap((d) => procs(d)))];
      const states = left.map((p) => `${p} ${procStat(p)?.state ?? 'gone'}`);
      t.equal(left, [], 'no process of the container is left in its cgroups', all, { dirs, states });
      t.ok(!dead(podInit), 'the pod\'s init lives', all, { pod: podInit });
    },
  },
];
