import { readFileSync, readdirSync } from 'node:fs';
import type { Case, CaseContext } from '../lib/context.js';
import { nsInode } from '../lib/host.js';
import { PROC_NAME } from '../lib/namespaces.js';
import { sleep } from '../lib/proc.js';
import { req } from '../lib/spec.js';

const join_ = req(
  'config-linux.md',
  'Namespaces',
  'The runtime MUST place the container process in the namespace associated with that `path`.',
);

/** unshare(1) flags that make a namespace of each type. */
const UNSHARE: Record<string, string[]> = {
  cgroup: ['--cgroup'],
  ipc: ['--ipc'],
  mount: ['--mount', '--propagation', 'private'],
  network: ['--net'],
  pid: ['--pid', '--fork'],
  user: ['--user', '--map-root-user'],
  uts: ['--uts'],
};

/**
 * Starts `sleep` in a new namespace of `type` and returns the pid of a process inside it
 * (with --fork, the child of unshare, which is the new pid namespace's init).
 */
async function holder(t: CaseContext, type: string): Promise<number> {
  const pid = t.helper('unshare', [...UNSHARE[type], 'sleep', '600']);
  for (let i = 0; i < 100; i++) {
    if (type !== 'pid' && nsInode(pid, PROC_NAME[type]) !== nsInode('self', PROC_NAME[type])) return pid;
    if (type === 'pid') {
      for (const task of readdirSync(`/proc/${pid}/task`)) {
        const child = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim().split(' ')[0];
        if (child) return Number(child);
      }
    }
    await sleep(20);
  }
  throw new Error(`unshare ${UNSHARE[type].join(' ')} made no namespace`);
}

export const cases: Case[] = Object.keys(UNSHARE).map((type): Case => ({
  name: `linux_ns_path/${type}`,
  description: `a ${type} namespace given by path is joined`,
  async run(t) {
    const target = await holder(t, type);
    const path = `/proc/${target}/ns/${PROC_NAME[type]}`;
    const b = await t.bundle((c, b) => {
      const others = (b.linux.namespaces ?? []).filter((n) => n.type !== type);
      b.linux.namespaces = [...others, { type, path }];
      b.shell('exec sleep 60');
    });
    const pid = await t.created(b);
    t.equal(
      nsInode(pid, PROC_NAME[type]),
      nsInode(target, PROC_NAME[type]),
      `the container is in the ${type} namespace of ${path}`,
      join_,
    );
    await t.kill(b.id, 'KILL');
    await t.stopped(b.id);
    await t.deleted(b.id);
  },
}));
