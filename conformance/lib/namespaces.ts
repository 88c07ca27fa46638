import type { CaseContext } from './context.js';
import type { HookRecord } from './hooks.js';
import { nsInode } from './host.js';
import type { Requirement } from './spec.js';

/**
 * A hook ran in the runtime namespace: its mount and network namespaces are the runtime's
 * (the suite runs in the runtime's namespaces), not the container's new ones.
 */
export function inRuntimeNamespace(t: CaseContext, name: string, rec: HookRecord, r: Requirement): void {
  t.ok(
    rec.mnt === nsInode('self', 'mnt') && rec.net === nsInode('self', 'net'),
    `the ${name} hook ran in the runtime's mount and network namespaces`,
    r,
    { hook: { mnt: rec.mnt, net: rec.net }, runtime: { mnt: nsInode('self', 'mnt'), net: nsInode('self', 'net') } },
  );
}

/** A hook ran in the container namespace: its mount and network namespaces are the container's. */
export function inContainerNamespace(t: CaseContext, name: string, rec: HookRecord, pid: number, r: Requirement): void {
  const container = { mnt: nsInode(pid, 'mnt'), net: nsInode(pid, 'net') };
  t.ok(
    rec.mnt === container.mnt && rec.net === container.net,
    `the ${name} hook ran in the container's mount and network namespaces`,
    r,
    { hook: { mnt: rec.mnt, net: rec.net }, container },
  );
}

/** Spec namespace type to its /proc/<pid>/ns name. */
export const PROC_NAME: Record<string, string> = {
  pid: 'pid',
  network: 'net',
  mount: 'mnt',
  ipc: 'ipc',
  uts: 'uts',
  cgroup: 'cgroup',
  user: 'user',
  time: 'time',
};
