import { writeFileSync } from 'node:fs';
import type { LinuxIDMapping } from '../spec/types/config.js';
import { RuntsError } from '../errors.js';

/**
 * The id maps of a container's user namespace written by a runtime that is not root, as
 * runc's rootless mode writes them. The kernel lets an unprivileged process map only its
 * own uid and gid, one id each, and the gid only once setgroups(2) is denied in the
 * namespace (else a process there could drop a group that denies it access). Any other
 * mapping goes through the setuid helpers newuidmap and newgidmap (Debian's `uidmap`),
 * which check it against /etc/subuid and /etc/subgid; setgroups stays allowed then.
 */

function text(mappings: LinuxIDMapping[]): string {
  return mappings.map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join('');
}

/** Whether the mappings are the one id an unprivileged caller may map itself. */
export function ownIdOnly(mappings: LinuxIDMapping[] | undefined, id: number): boolean {
  return mappings !== undefined && mappings.length === 1 && mappings[0].size === 1 && mappings[0].hostID === id;
}

/** newuidmap/newgidmap PID containerID hostID size …: loaded only here (child_process brings net and streams). */
function helper(tool: string, pid: number, mappings: LinuxIDMapping[], configPath: string): void {
  const { spawnSync } = process.getBuiltinModule('node:child_process');
  const args = [String(pid), ...mappings.flatMap((m) => [String(m.containerID), String(m.hostID), String(m.size)])];
  const r = spawnSync(tool, args, { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new RuntsError(`${tool} not found: mapping more than the caller's own id needs it (Debian's uidmap package) and ranges in /etc/sub${tool === 'newuidmap' ? 'uid' : 'gid'}`, { configPath });
    }
    throw RuntsError.fromNode(tool, r.error, configPath);
  }
  if (r.status !== 0) {
    const why = (r.stderr ?? '').trim().split('\n').filter(Boolean).pop() ?? `exit status ${r.status ?? r.signal}`;
    throw new RuntsError(`${tool} ${args.join(' ')}: ${why}`, { configPath });
  }
}

/** Writes the maps of `pid`'s user namespace as the unprivileged `euid`/`egid`. */
export function writeRootlessIdMaps(pid: number, uid: LinuxIDMapping[] | undefined, gid: LinuxIDMapping[] | undefined, owner: string, euid: number, egid: number): void {
  if (ownIdOnly(uid, euid)) {
    try {
      writeFileSync(`/proc/${pid}/uid_map`, text(uid!));
    } catch (err) {
      throw RuntsError.fromNode('write uid_map', err, `${owner}.uidMappings`);
    }
  } else {
    helper('newuidmap', pid, uid ?? [], `${owner}.uidMappings`);
  }
  if (ownIdOnly(gid, egid)) {
    try {
      writeFileSync(`/proc/${pid}/setgroups`, 'deny');
      writeFileSync(`/proc/${pid}/gid_map`, text(gid!));
    } catch (err) {
      throw RuntsError.fromNode('write gid_map', err, `${owner}.gidMappings`);
    }
  } else {
    helper('newgidmap', pid, gid ?? [], `${owner}.gidMappings`);
  }
}
