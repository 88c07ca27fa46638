import { statSync } from 'node:fs';
import type { LinuxNamespace, Spec } from '../spec/types/config.js';
import { joinPath } from '../spec/messages.js';
import { RuntsError } from '../errors.js';
import type { Emitter } from '../program/emit.js';
import type { Reg } from '../program/program.js';
import { emitOpenInProcfs, emitOpenProcfs } from './procfs.js';
import { O_WRONLY } from '../sys/constants.js';

/**
 * linux.sysctl: only parameters the kernel scopes to a namespace of the container may be
 * set (runc's rules), since any other would change the host. They are written after
 * pivot_root, through a clone of the container's procfs that nothing can be mounted over
 * (procfs.ts).
 */

/** The System V IPC parameters of an ipc namespace; fs.mqueue.* is one too. */
const IPC_KEYS = new Set([
  'kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni', 'kernel.sem',
  'kernel.shmall', 'kernel.shmmax', 'kernel.shmmni', 'kernel.shm_rmid_forced',
]);

/**
 * sysctl(8) also takes keys with slashes ("net/ipv4/conf/eth0.100/forwarding"), where a
 * dot belongs to a name; the dotted form swaps the two ("net.ipv4.conf.eth0/100.forwarding").
 */
function swapSeparators(key: string): string {
  return key.replace(/[./]/g, (c) => (c === '.' ? '/' : '.'));
}

/** The key in dotted form: a key whose first separator is a slash is in slash form. */
export function dottedKey(key: string): string {
  const first = key.search(/[./]/);
  return first >= 0 && key[first] === '/' ? swapSeparators(key) : key;
}

/** The file of a key under /proc/sys. */
export function sysctlFile(key: string): string {
  return `/proc/sys/${swapSeparators(dottedKey(key))}`;
}

/** Whether a joined network namespace is the one runts itself runs in. */
function isHostNetwork(path: string): boolean {
  const host = statSync('/proc/self/ns/net');
  const other = statSync(path);
  return host.dev === other.dev && host.ino === other.ino;
}

function problem(key: string, namespaces: LinuxNamespace[]): string | undefined {
  const dotted = dottedKey(key);
  const parts = swapSeparators(dotted).split('/');
  if (parts.some((part) => part === '' || part === '.' || part === '..')) {
    return 'is not a sysctl name';
  }
  const ns = (type: LinuxNamespace['type']) => namespaces.find((n) => n.type === type);
  if (IPC_KEYS.has(dotted) || dotted.startsWith('fs.mqueue.')) {
    return ns('ipc') ? undefined : 'needs an ipc namespace of the container (linux.namespaces)';
  }
  if (dotted.startsWith('net.')) {
    const net = ns('network');
    if (!net) return 'needs a network namespace of the container (linux.namespaces)';
    if (net.path !== undefined) {
      try {
        if (isHostNetwork(net.path)) return `needs a network namespace of the container, not the host's (${net.path})`;
      } catch (err) {
        return `cannot check the network namespace ${net.path}: ${(err as Error).message}`;
      }
    }
    return undefined;
  }
  if (ns('uts') && dotted === 'kernel.domainname') return undefined;
  if (ns('uts') && dotted === 'kernel.hostname') return 'conflicts with the hostname field: set the hostname there';
  return 'is not a namespaced sysctl: setting it would change the host';
}

/** Throws for the first key of linux.sysctl runts must not write. */
export function checkSysctl(spec: Spec): void {
  const namespaces = spec.linux?.namespaces ?? [];
  for (const key of Object.keys(spec.linux?.sysctl ?? {})) {
    const message = problem(key, namespaces);
    if (message) throw new RuntsError(message, { configPath: joinPath('linux.sysctl', key) });
  }
}

export function emitSysctl(e: Emitter, spec: Spec): void {
  const entries = Object.entries(spec.linux?.sysctl ?? {});
  if (entries.length === 0) return;
  checkSysctl(spec);
  const fd = e.p.reg('sysctl');
  let proc: Reg | undefined;
  for (const [key, value = ''] of entries) {
    const configPath = joinPath('linux.sysctl', key);
    if (dottedKey(key) === 'kernel.domainname') {
      // The file answers only the host's root, even in a uts namespace of a user namespace;
      // setdomainname(2) asks for CAP_SYS_ADMIN over the uts namespace.
      e.p.sys('setdomainname', [e.str(value), Buffer.byteLength(value)], { what: `set domainname ${value}`, configPath });
      continue;
    }
    const file = sysctlFile(key);
    const step = { what: `write ${value} to ${file}`, configPath };
    proc ??= emitOpenProcfs(e, { what: 'open procfs for linux.sysctl', configPath: 'linux.sysctl' });
    emitOpenInProcfs(e, proc, file.slice('/proc/'.length), O_WRONLY, fd, step);
    e.p.sys('write', [fd, e.str(value), Buffer.byteLength(value)], step);
    e.p.sys('close', [fd], step);
  }
  if (proc) e.p.sys('close', [proc], { what: 'close procfs', configPath: 'linux.sysctl' });
}
