import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RUNTS, Sandbox, baseConfig, sharedRootfs } from '../helpers/containers.js';
import { ENV } from './helpers.js';

/**
 * SIGKILL of create, start, exec and delete at random moments; `delete --force` afterwards
 * must leave nothing: no state directory, no cgroup, so no process of the container. The
 * moments come from a seeded generator whose seed is printed (RUNTS_FAULT_SEED repeats a
 * run, RUNTS_FAULT_ROUNDS sets the rounds per command: CI runs the default 8, 32 kills;
 * 25 makes 100).
 */

const rootfs = sharedRootfs(t);
const seed = Number(process.env.RUNTS_FAULT_SEED ?? Date.now() % 2 ** 31);
const ROUNDS = Number(process.env.RUNTS_FAULT_ROUNDS ?? 8);
t.comment(`seed ${seed} (RUNTS_FAULT_SEED=${seed} repeats this run), ${ROUNDS} rounds per command`);

/** mulberry32: small, seeded, good enough to pick moments. */
function generator(s: number): () => number {
  let a = s >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let r = Math.imul(a ^ (a >>> 15), 1 | a);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
}
const random = generator(seed);

const PARENT = `runts-fault-${process.pid}`;

/** The cgroup hierarchies: /sys/fs/cgroup itself on a cgroup2 host, else its mounts. */
function hierarchies(): string[] {
  const top = '/sys/fs/cgroup';
  if (existsSync(join(top, 'cgroup.procs'))) return [top];
  return readdirSync(top, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => join(top, e.name));
}

/** The container's cgroups that still exist. */
function cgroupsOf(id: string): string[] {
  return hierarchies().map((h) => join(h, PARENT, id)).filter((dir) => existsSync(dir));
}

/**
 * Runs runts and kills it with SIGKILL `ms` after `from` first holds (checked every
 * millisecond), or lets it finish first.
 */
function killedAfter(args: string[], ms: number, from: () => boolean = () => true): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn(RUNTS, args, { env: ENV, stdio: 'ignore' });
    let timer: NodeJS.Timeout | undefined;
    const poll = setInterval(() => {
      if (!from()) return;
      clearInterval(poll);
      timer = setTimeout(() => child.kill('SIGKILL'), ms);
    }, 1);
    child.on('exit', () => {
      clearInterval(poll);
      clearTimeout(timer);
      resolve();
    });
  });
}

t.teardown(() => {
  // the parents made for the tests' cgroups, once every container is gone
  for (const h of hierarchies()) {
    try {
      rmdirSync(join(h, PARENT));
    } catch {
      // absent, or a container was left, which the tests name
    }
  }
});

for (const command of ['create', 'start', 'exec', 'delete'] as const) {
  t.test(`SIGKILL of ${command} at a random moment, then delete --force: nothing left`, async (t) => {
    const sb = new Sandbox(t);
    let leftByCreate = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const id = `${command}${round}`;
      const config = baseConfig(rootfs, ['sleep', '1000']);
      config.linux.cgroupsPath = `/${PARENT}/${id}`;
      config.linux.resources = { pids: { limit: 64 }, memory: { limit: 64 << 20 } };
      if (round % 2 === 1) {
        config.linux.namespaces.push({ type: 'user' });
        config.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
        config.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      }
      const bundle = sb.bundle(config);
      const base = ['--root', sb.root];
      if (command !== 'create') {
        const created = sb.runts(['create', '--bundle', bundle, id]);
        t.equal(created.status, 0, created.stderr);
      }
      if (command === 'exec' || command === 'delete') t.equal(sb.runts(['start', id]).status, 0);
      // Every other round of create aims at its riskiest part: its cgroups exist, its
      // state does not yet.
      const aimed = command === 'create' && round % 2 === 0;
      const ms = Math.floor(random() * (aimed ? 20 : command === 'create' ? 800 : 250));
      const args = {
        create: ['create', '--bundle', bundle, id],
        start: ['start', id],
        exec: ['exec', id, 'sleep', '1000'],
        delete: ['delete', '--force', id],
      }[command];
      await killedAfter([...base, ...args], ms, aimed ? () => cgroupsOf(id).length > 0 : undefined);
      if (aimed && cgroupsOf(id).length > 0 && !existsSync(join(sb.root, id, 'state.json'))) leftByCreate++;
      const cleanup = sb.runts(['delete', '--force', id]);
      const what = `${command} killed after ${ms} ms${aimed ? ' once its cgroups existed' : ''} (round ${round})`;
      t.equal(cleanup.status, 0, `${what}: delete --force succeeds ${cleanup.stderr}`);
      t.notOk(existsSync(join(sb.root, id)), `${what}: no state directory`);
      t.same(cgroupsOf(id), [], `${what}: no cgroup, so no process`);
    }
    if (command === 'create') {
      // the decoy: some kills left cgroups that only the creating record names
      t.ok(leftByCreate > 0, `${leftByCreate} killed creates left cgroups without a state.json`);
    }
  });
}

t.test('delete --force of a running container whose state.json is corrupt kills it and removes its cgroups', async (t) => {
  const sb = new Sandbox(t);
  for (const [name, text] of [['garbage', 'garbage\n'], ['empty', ''], ['object', '{}'], ['truncated', '{"ociVersion":"1.3.0","id":']]) {
    const id = `corrupt-${name}`;
    const config = baseConfig(rootfs, ['sleep', '1000']);
    config.linux.cgroupsPath = `/${PARENT}/${id}`;
    config.linux.resources = { pids: { limit: 64 } };
    t.equal(sb.runts(['run', '--detach', '--bundle', sb.bundle(config), id]).status, 0);
    const pid = sb.state(id).pid;
    writeFileSync(join(sb.root, id, 'state.json'), text);
    const r = sb.runts(['delete', '--force', id]);
    t.equal(r.status, 0, `${name}: ${r.stderr}`);
    t.notOk(existsSync(join(sb.root, id)), `${name}: no state directory`);
    t.same(cgroupsOf(id), [], `${name}: no cgroup`);
    t.notOk(existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z '), `${name}: the init is gone`);
  }
});
