import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Sandbox, baseConfig, sharedRootfs } from '../helpers/containers.js';
import { CRASH, leftovers, runtsBounded } from './helpers.js';

/**
 * Hostile input to check, create and run: every malformed config or argument gets exit
 * status 1 and one line per problem (naming its JSON path when the problem is in the
 * config), within a time bound, and nothing is left behind.
 */

const sandbox = new Sandbox(t);
const rootfs = sharedRootfs(t);
const pidDir = join(sandbox.dir, 'pids');
mkdirSync(pidDir);
const NOTHING = { stateDirs: [], cgroups: [], mounts: [], processes: [] };
/** Far above what a validation failure takes; a hang runs into it. */
const TIMEOUT = 20_000;
const MB = 1024 * 1024;

type Command = 'check' | 'create' | 'run';

interface Case {
  name: string;
  /** The config.json to write, made from the busybox config (args: true). */
  config?: (c: any) => any;
  /** Writes the bundle's config.json itself (bytes, fifo, symlink...). */
  raw?: (bundle: string) => void;
  /** Flags before the container id. */
  flags?: string[];
  id?: string;
  cmds?: Command[];
  /** A line of the answer must match. */
  expect: RegExp;
  /** Every line names config.json (the default for a config edit). */
  inConfig?: boolean;
}

function base(): any {
  return baseConfig(rootfs, ['true']);
}

function userns(c: any, uid: any[], gid: any[] = [{ containerID: 0, hostID: 100000, size: 65536 }]): any {
  c.linux.namespaces.push({ type: 'user' });
  c.linux.uidMappings = uid;
  c.linux.gidMappings = gid;
  return c;
}

function mkfifo(path: string): void {
  if (spawnSync('mkfifo', [path]).status !== 0) throw new Error(`mkfifo ${path} failed`);
}

const M = (containerID: number, hostID: number, size: number) => ({ containerID, hostID, size });
const nested = (depth: number, open: string, close: string, inner = '1') => open.repeat(depth) + inner + close.repeat(depth);

const cases: Case[] = [
  // config.json itself
  { name: 'config.json is a fifo', raw: (b) => mkfifo(join(b, 'config.json')), expect: /config\.json: a fifo, not a regular file$/, cmds: ['check', 'create', 'run'] },
  { name: 'config.json is /dev/zero', raw: (b) => symlinkSync('/dev/zero', join(b, 'config.json')), expect: /config\.json: a character device, not a regular file$/ },
  { name: 'config.json is a directory', raw: (b) => mkdirSync(join(b, 'config.json')), expect: /config\.json: a directory, not a regular file$/ },
  { name: 'config.json is missing', raw: () => undefined, expect: /cannot read .*config\.json: ENOENT/ },
  { name: 'config.json of 17 MiB', raw: (b) => (writeFileSync(join(b, 'config.json'), ''), truncateSync(join(b, 'config.json'), 17 * MB)), expect: /config\.json: larger than the 16 MiB limit$/ },
  { name: 'config.json empty', raw: (b) => writeFileSync(join(b, 'config.json'), ''), expect: /^config\.json: not valid JSON/ },
  { name: 'config.json binary garbage', raw: (b) => writeFileSync(join(b, 'config.json'), Buffer.from([0xff, 0xfe, 0, 1, 2, 0x7b])), expect: /^config\.json: not valid JSON/ },
  { name: 'config.json truncated', raw: (b) => writeFileSync(join(b, 'config.json'), JSON.stringify(base()).slice(0, 200)), expect: /^config\.json: not valid JSON/ },
  { name: 'config.json 100k-deep arrays', raw: (b) => writeFileSync(join(b, 'config.json'), nested(100_000, '[', ']')), expect: /^config\.json: nested more than \d+ levels deep$/ },
  { name: 'config.json 100k-deep objects in a field', raw: (b) => writeFileSync(join(b, 'config.json'), JSON.stringify(base()).slice(0, -1) + ',"x":' + nested(100_000, '{"a":', '}') + '}'), expect: /^config\.json: nested more than \d+ levels deep$/ },
  { name: 'config.json is an array', config: () => [], expect: /^config\.json: expected an object, got array$/ },
  { name: 'config.json is null', raw: (b) => writeFileSync(join(b, 'config.json'), 'null'), expect: /^config\.json: expected an object, got null$/ },
  { name: 'config.json is a string', raw: (b) => writeFileSync(join(b, 'config.json'), '"x"'), expect: /^config\.json: expected an object, got string$/ },
  { name: 'config.json has a NUL in a key', config: (c) => ({ ...c, 'a\u0000b': 1 }), expect: /^config\.json: the key "a\\u0000b" contains a NUL byte$/ },

  // id mappings
  { name: 'uid mapping of size 0', config: (c) => userns(c, [M(0, 100000, 0)]), expect: /^config\.json: linux\.uidMappings\[0\]\.size: must be at least 1, got 0$/, cmds: ['check', 'create', 'run'] },
  { name: 'gid mapping of size 0', config: (c) => userns(c, [M(0, 100000, 65536)], [M(0, 100000, 0)]), expect: /^config\.json: linux\.gidMappings\[0\]\.size: must be at least 1/ },
  { name: 'uid mapping of the largest size', config: (c) => userns(c, [M(0, 100000, 4294967295)]), expect: /^config\.json: linux\.uidMappings\[0\]\.size: hostID 100000 \+ size 4294967295 goes past 4294967294/, cmds: ['check', 'create', 'run'] },
  { name: 'uid mapping past 2^32', config: (c) => userns(c, [M(0, 100000, 2 ** 32)]), expect: /^config\.json: linux\.uidMappings\[0\]\.size: must be at most 4294967295/ },
  { name: 'uid mapping starting at (u32)-1', config: (c) => userns(c, [M(4294967295, 100000, 1)]), expect: /^config\.json: linux\.uidMappings\[0\]\.size: containerID 4294967295 \+ size 1 goes past/ },
  { name: 'host range past the highest id', config: (c) => userns(c, [M(0, 4294967000, 65536)]), expect: /^config\.json: linux\.uidMappings\[0\]\.size: hostID 4294967000 \+ size 65536 goes past/ },
  { name: 'overlapping container ranges', config: (c) => userns(c, [M(0, 100000, 1000), M(500, 300000, 1000)]), expect: /^config\.json: linux\.uidMappings\[1\]\.containerID: container ids 500-1499 overlap those of linux\.uidMappings\[0\]$/, cmds: ['check', 'create', 'run'] },
  { name: 'overlapping host ranges', config: (c) => userns(c, [M(0, 100000, 65536)], [M(0, 100000, 1000), M(1000, 100500, 1000)]), expect: /^config\.json: linux\.gidMappings\[1\]\.hostID: host ids 100500-101499 overlap those of linux\.gidMappings\[0\]$/ },
  { name: 'the same range twice', config: (c) => userns(c, [M(0, 100000, 1), M(0, 100000, 1)]), expect: /linux\.uidMappings\[1\]\.containerID: container ids 0-0 overlap/ },
  { name: '341 map lines', config: (c) => userns(c, Array.from({ length: 341 }, (_, i) => M(i, 100000 + i, 1))), expect: /^config\.json: linux\.uidMappings: 341 entries: a user namespace map holds at most 340$/ },
  { name: 'a map longer than a page', config: (c) => userns(c, Array.from({ length: 300 }, (_, i) => M(1000000000 + i, 1000000000 + i, 1))), expect: /^config\.json: linux\.uidMappings: \d+ bytes as a map: the kernel takes at most 4095$/ },
  { name: '100k map lines', config: (c) => userns(c, Array.from({ length: 100_000 }, (_, i) => M(i, 100000 + i, 1))), expect: /^config\.json: linux\.uidMappings: 100000 entries/ },
  { name: 'negative containerID', config: (c) => userns(c, [M(-1, 100000, 1)]), expect: /^config\.json: linux\.uidMappings\[0\]\.containerID: must not be negative, got -1$/ },
  { name: 'fractional size', config: (c) => userns(c, [M(0, 100000, 1.5)]), expect: /^config\.json: linux\.uidMappings\[0\]\.size: expected an integer, got 1\.5$/ },
  { name: 'size as a string', config: (c) => userns(c, [{ containerID: 0, hostID: 100000, size: '1' }]), expect: /^config\.json: linux\.uidMappings\[0\]\.size: expected an integer, got string$/ },
  { name: 'mapping without size', config: (c) => userns(c, [{ containerID: 0, hostID: 100000 }]), expect: /^config\.json: linux\.uidMappings\[0\]\.size: missing \(required\)$/ },
  { name: 'mappings not an array', config: (c) => userns(c, { containerID: 0 } as any), expect: /^config\.json: linux\.uidMappings: expected an array, got object$/ },
  { name: 'mappings without a user namespace', config: (c) => ({ ...c, linux: { ...c.linux, uidMappings: [M(0, 1, 1)], gidMappings: [M(0, 1, 1)] } }), expect: /^config\.json: linux\.uidMappings: only allowed with a new user namespace/ },
  { name: 'a user namespace without mappings', config: (c) => (c.linux.namespaces.push({ type: 'user' }), c), expect: /^config\.json: linux\.uidMappings: missing \(required with a new user namespace\)$/ },
  { name: 'idmapped mount of size 0', config: (c) => (c.mounts.push({ destination: '/mnt', type: 'bind', source: '/tmp', options: ['bind', 'idmap'], uidMappings: [M(0, 100000, 0)], gidMappings: [M(0, 100000, 1)] }), c), expect: /^config\.json: mounts\[7\]\.uidMappings\[0\]\.size: must be at least 1/ },
  { name: 'idmapped mount with overlapping ranges', config: (c) => (c.mounts.push({ destination: '/mnt', type: 'bind', source: '/tmp', options: ['bind', 'idmap'], uidMappings: [M(0, 100000, 10), M(5, 200000, 10)], gidMappings: [M(0, 100000, 1)] }), c), expect: /^config\.json: mounts\[7\]\.uidMappings\[1\]\.containerID: container ids 5-14 overlap/ },
  { name: 'a size of 1e20', config: (c) => userns(c, [M(0, 100000, 1e20)]), expect: /linux\.uidMappings\[0\]\.size: must be at most 4294967295/ },

  // NUL bytes in strings that reach system calls
  { name: 'NUL in process.args', config: (c) => ((c.process.args = ['tr\u0000ue']), c), expect: /^config\.json: process\.args\[0\]: contains a NUL byte$/, cmds: ['check', 'create', 'run'] },
  { name: 'NUL in process.env', config: (c) => (c.process.env.push('A=b\u0000c'), c), expect: /^config\.json: process\.env\[2\]: contains a NUL byte$/ },
  { name: 'NUL in process.cwd', config: (c) => ((c.process.cwd = '/t\u0000mp'), c), expect: /^config\.json: process\.cwd: contains a NUL byte$/ },
  { name: 'NUL in a mount destination', config: (c) => ((c.mounts[6].destination = '/tm\u0000p'), c), expect: /^config\.json: mounts\[6\]\.destination: contains a NUL byte$/, cmds: ['check', 'create', 'run'] },
  { name: 'NUL in a mount source', config: (c) => ((c.mounts[6].source = 'tmp\u0000fs'), c), expect: /^config\.json: mounts\[6\]\.source: contains a NUL byte$/ },
  { name: 'NUL in a mount option', config: (c) => ((c.mounts[6].options[0] = 'nosuid\u0000'), c), expect: /^config\.json: mounts\[6\]\.options\[0\]: contains a NUL byte$/ },
  { name: 'NUL in a mount type', config: (c) => ((c.mounts[6].type = 'tmp\u0000fs'), c), expect: /^config\.json: mounts\[6\]\.type: contains a NUL byte$/ },
  { name: 'NUL in hostname', config: (c) => ((c.hostname = 'busy\u0000box'), c), expect: /^config\.json: hostname: contains a NUL byte$/ },
  { name: 'NUL in domainname', config: (c) => ((c.domainname = 'a\u0000'), c), expect: /^config\.json: domainname: contains a NUL byte$/ },
  { name: 'NUL in root.path', config: (c) => ((c.root.path = `${rootfs}\u0000x`), c), expect: /^config\.json: root\.path: contains a NUL byte$/ },
  { name: 'NUL in a hook path', config: (c) => ((c.hooks = { prestart: [{ path: '/bin/tr\u0000ue' }] }), c), expect: /^config\.json: hooks\.prestart\[0\]\.path: contains a NUL byte$/ },
  { name: 'NUL in a hook argument', config: (c) => ((c.hooks = { poststop: [{ path: '/bin/true', args: ['true', 'a\u0000'] }] }), c), expect: /^config\.json: hooks\.poststop\[0\]\.args\[1\]: contains a NUL byte$/ },
  { name: 'NUL in a hook variable', config: (c) => ((c.hooks = { createRuntime: [{ path: '/bin/true', env: ['A=\u0000'] }] }), c), expect: /^config\.json: hooks\.createRuntime\[0\]\.env\[0\]: contains a NUL byte$/ },
  { name: 'NUL in a sysctl key', config: (c) => ((c.linux.sysctl = { 'net.ipv4.ip_forward\u0000': '1' }), c), expect: /^config\.json: linux\.sysctl: the key "net\.ipv4\.ip_forward\\u0000" contains a NUL byte$/ },
  { name: 'NUL in a sysctl value', config: (c) => ((c.linux.sysctl = { 'net.ipv4.ip_forward': '1\u0000' }), c), expect: /^config\.json: linux\.sysctl\["net\.ipv4\.ip_forward"\]: contains a NUL byte$/ },
  { name: 'NUL in maskedPaths', config: (c) => ((c.linux.maskedPaths[0] = '/proc/\u0000acpi'), c), expect: /^config\.json: linux\.maskedPaths\[0\]: contains a NUL byte$/ },
  { name: 'NUL in readonlyPaths', config: (c) => ((c.linux.readonlyPaths[1] = '/proc/fs\u0000'), c), expect: /^config\.json: linux\.readonlyPaths\[1\]: contains a NUL byte$/ },
  { name: 'NUL in a device path', config: (c) => ((c.linux.devices = [{ type: 'c', path: '/dev/f\u0000', major: 1, minor: 3 }]), c), expect: /^config\.json: linux\.devices\[0\]\.path: contains a NUL byte$/ },
  { name: 'NUL in cgroupsPath', config: (c) => ((c.linux.cgroupsPath = '/runts-x\u0000'), c), expect: /^config\.json: linux\.cgroupsPath: contains a NUL byte$/ },
  { name: 'NUL in a namespace path', config: (c) => ((c.linux.namespaces[1] = { type: 'network', path: '/proc/1/ns/net\u0000' }), c), expect: /^config\.json: linux\.namespaces\[1\]\.path: contains a NUL byte$/ },
  { name: 'NUL in a seccomp syscall name', config: (c) => ((c.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir\u0000'], action: 'SCMP_ACT_ERRNO' }] }), c), expect: /^config\.json: linux\.seccomp\.syscalls\[0\]\.names\[0\]: contains a NUL byte$/ },
  { name: 'NUL in selinuxLabel', config: (c) => ((c.process.selinuxLabel = 'x\u0000'), c), expect: /^config\.json: process\.selinuxLabel: contains a NUL byte$/ },
  { name: 'NUL in mountLabel', config: (c) => ((c.linux.mountLabel = 'x\u0000'), c), expect: /^config\.json: linux\.mountLabel: contains a NUL byte$/ },

  // devices
  { name: 'negative device major', config: (c) => ((c.linux.devices = [{ type: 'c', path: '/dev/x', major: -1, minor: 3 }]), c), expect: /^config\.json: linux\.devices\[0\]\.major: must not be negative, got -1$/, cmds: ['check', 'create', 'run'] },
  { name: 'negative device minor', config: (c) => ((c.linux.devices = [{ type: 'b', path: '/dev/x', major: 1, minor: -5 }]), c), expect: /^config\.json: linux\.devices\[0\]\.minor: must not be negative, got -5$/ },
  { name: 'device major past 32 bits', config: (c) => ((c.linux.devices = [{ type: 'c', path: '/dev/x', major: 2 ** 32, minor: 3 }]), c), expect: /^config\.json: linux\.devices\[0\]\.major: must be at most 4294967295/ },
  { name: 'device major as a string', config: (c) => ((c.linux.devices = [{ type: 'c', path: '/dev/x', major: '1', minor: 3 }]), c), expect: /^config\.json: linux\.devices\[0\]\.major: expected an integer, got string$/ },
  { name: 'device of an unknown type', config: (c) => ((c.linux.devices = [{ type: 'x', path: '/dev/x', major: 1, minor: 3 }]), c), expect: /^config\.json: linux\.devices\[0\]\.type: "x" is not a device type/ },
  { name: 'device without a path', config: (c) => ((c.linux.devices = [{ type: 'c', major: 1, minor: 3 }]), c), expect: /^config\.json: linux\.devices\[0\]\.path: missing \(required\)$/ },
  { name: 'negative major in a device rule', config: (c) => ((c.linux.resources = { devices: [{ allow: true, type: 'c', major: -2, minor: 3, access: 'rwm' }] }), c), expect: /^config\.json: linux\.resources\.devices\[0\]\.major: must be at least -1, got -2$/, cmds: ['check', 'create', 'run'] },
  { name: 'negative minor in a device rule', config: (c) => ((c.linux.resources = { devices: [{ allow: false, type: 'b', major: 8, minor: -100, access: 'r' }] }), c), expect: /^config\.json: linux\.resources\.devices\[0\]\.minor: must be at least -1, got -100$/ },
  { name: 'device rule major past 32 bits', config: (c) => ((c.linux.resources = { devices: [{ allow: true, type: 'c', major: 2 ** 32, access: 'r' }] }), c), expect: /^config\.json: linux\.resources\.devices\[0\]\.major: must be at most 4294967295/ },
  { name: 'device at a relative path', config: (c) => ((c.linux.devices = [{ type: 'c', path: 'dev/x', major: 1, minor: 3 }]), c), expect: /^config\.json: linux\.devices\[0\]\.path: "dev\/x" must be an absolute path$/ },

  // wrong types and values at several levels of the schema
  { name: 'ociVersion a number', config: (c) => ((c.ociVersion = 1), c), expect: /^config\.json: ociVersion: expected a string, got number$/ },
  { name: 'ociVersion 2.0.0', config: (c) => ((c.ociVersion = '2.0.0'), c), expect: /^config\.json: ociVersion: 2\.0\.0 is not supported/ },
  { name: 'no root', config: (c) => (delete c.root, c), expect: /^config\.json: root: missing \(required\)$/ },
  { name: 'empty root.path', config: (c) => ((c.root.path = ''), c), expect: /^config\.json: root\.path: must not be empty$/ },
  { name: 'root.path does not exist', config: (c) => ((c.root.path = '/nonexistent/rootfs'), c), expect: /^config\.json: root\.path: "\/nonexistent\/rootfs" does not exist$/ },
  { name: 'root.path is a file', config: (c) => ((c.root.path = '/etc/passwd'), c), expect: /^config\.json: root\.path: "\/etc\/passwd" is not a directory$/ },
  { name: 'process a string', config: (c) => ((c.process = 'true'), c), expect: /^config\.json: process: expected an object, got string$/ },
  { name: 'process.args a string', config: (c) => ((c.process.args = 'true'), c), expect: /^config\.json: process\.args: expected an array, got string$/ },
  { name: 'process.args numbers', config: (c) => ((c.process.args = [1, 2]), c), expect: /^config\.json: process\.args\[0\]: expected a string, got number$/ },
  { name: 'process.args empty', config: (c) => ((c.process.args = []), c), expect: /^config\.json: process\.args: must not be empty$/, cmds: ['check', 'create', 'run'] },
  { name: 'process.env an object', config: (c) => ((c.process.env = { PATH: '/bin' }), c), expect: /^config\.json: process\.env: expected an array, got object$/ },
  { name: 'process.cwd relative', config: (c) => ((c.process.cwd = 'tmp'), c), expect: /^config\.json: process\.cwd: "tmp" must be an absolute path$/ },
  { name: 'process.user.uid negative', config: (c) => ((c.process.user.uid = -1), c), expect: /^config\.json: process\.user\.uid: must not be negative, got -1$/ },
  { name: 'process.user.uid 2^32', config: (c) => ((c.process.user.uid = 2 ** 32), c), expect: /^config\.json: process\.user\.uid: must be at most 4294967295/ },
  { name: 'process.user.gid a string', config: (c) => ((c.process.user.gid = '0'), c), expect: /^config\.json: process\.user\.gid: expected an integer, got string$/ },
  { name: 'additionalGids of a huge number', config: (c) => ((c.process.user.additionalGids = [1e300]), c), expect: /^config\.json: process\.user\.additionalGids\[0\]: must be at most 4294967295/ },
  { name: 'rlimit soft negative', config: (c) => ((c.process.rlimits[0].soft = -1), c), expect: /^config\.json: process\.rlimits\[0\]\.soft: must not be negative, got -1$/ },
  { name: 'rlimit of an unknown type', config: (c) => ((c.process.rlimits[0].type = 'RLIMIT_BOGUS'), c), expect: /^config\.json: process\.rlimits\[0\]\.type: "RLIMIT_BOGUS" is not a linux resource limit/ },
  { name: 'rlimit soft above hard', config: (c) => ((c.process.rlimits[0].soft = 2048), c), expect: /^config\.json: process\.rlimits\[0\]\.soft: 2048 exceeds the hard limit 1024$/ },
  { name: 'an unknown capability', config: (c) => ((c.process.capabilities.bounding = ['CAP_BOGUS']), c), expect: /^config\.json: process\.capabilities\.bounding\[0\]: "CAP_BOGUS" is not a linux capability/ },
  { name: 'oomScoreAdj out of range', config: (c) => ((c.process.oomScoreAdj = 5000), c), expect: /^config\.json: process\.oomScoreAdj: must be at most 1000, got 5000$/ },
  { name: 'mounts an object', config: (c) => ((c.mounts = { destination: '/x' }), c), expect: /^config\.json: mounts: expected an array, got object$/ },
  { name: 'a mount that is a string', config: (c) => ((c.mounts[0] = '/proc'), c), expect: /^config\.json: mounts\[0\]: expected an object, got string$/ },
  { name: 'a mount destination a number', config: (c) => ((c.mounts[0].destination = 5), c), expect: /^config\.json: mounts\[0\]\.destination: expected a string, got number$/ },
  { name: 'a mount without destination', config: (c) => (delete c.mounts[2].destination, c), expect: /^config\.json: mounts\[2\]\.destination: missing \(required\)$/ },
  { name: 'an unknown namespace type', config: (c) => ((c.linux.namespaces[0].type = 'bogus'), c), expect: /^config\.json: linux\.namespaces\[0\]\.type: "bogus" is not a namespace type/ },
  { name: 'a namespace twice', config: (c) => (c.linux.namespaces.push({ type: 'pid' }), c), expect: /^config\.json: linux\.namespaces\[6\]\.type: duplicate namespace type "pid"/ },
  { name: 'a namespace path that is no namespace', config: (c) => ((c.linux.namespaces[1] = { type: 'network', path: '/etc/passwd' }), c), expect: /^config\.json: linux\.namespaces\[1\]\.path: \/etc\/passwd is not a namespace file$/ },
  { name: 'memory limit a string', config: (c) => ((c.linux.resources = { memory: { limit: '1g' } }), c), expect: /^config\.json: linux\.resources\.memory\.limit: expected an integer, got string$/ },
  { name: 'pids limit fractional', config: (c) => ((c.linux.resources = { pids: { limit: 1.5 } }), c), expect: /^config\.json: linux\.resources\.pids\.limit: expected an integer, got 1\.5$/ },
  { name: 'cpus a number', config: (c) => ((c.linux.resources = { cpu: { cpus: 5 } }), c), expect: /^config\.json: linux\.resources\.cpu\.cpus: expected a string, got number$/ },
  { name: 'an unknown seccomp action', config: (c) => ((c.linux.seccomp = { defaultAction: 'BOGUS' }), c), expect: /^config\.json: linux\.seccomp\.defaultAction: "BOGUS" is not/ },
  { name: 'a relative hook path', config: (c) => ((c.hooks = { prestart: [{ path: 'true' }] }), c), expect: /^config\.json: hooks\.prestart\[0\]\.path: "true" must be an absolute path$/ },
  { name: 'a hook timeout of 0', config: (c) => ((c.hooks = { poststart: [{ path: '/bin/true', timeout: 0 }] }), c), expect: /^config\.json: hooks\.poststart\[0\]\.timeout: must be greater than 0, got 0$/ },
  { name: 'a hook timeout of 1e20 seconds', config: (c) => ((c.hooks = { createContainer: [{ path: '/bin/true', timeout: 1e20 }] }), c), expect: /^config\.json: hooks\.createContainer\[0\]\.timeout: must be at most 2147483, got 100000000000000000000$/, cmds: ['check', 'create', 'run'] },
  { name: 'an empty annotation key', config: (c) => ((c.annotations = { '': 'x' }), c), expect: /^config\.json: annotations: "" is not allowed as a key/ },
  { name: 'an annotation value a number', config: (c) => ((c.annotations = { a: 1 }), c), expect: /^config\.json: annotations\.a: expected a string, got number$/ },
  { name: 'linux a string', raw: (b) => writeFileSync(join(b, 'config.json'), JSON.stringify({ ...base(), linux: 'yes' })), expect: /^config\.json: linux: expected an object, got string$/ },
  { name: 'a sysctl of the host', config: (c) => ((c.linux.sysctl = { 'kernel.pid_max': '1' }), c), expect: /^config\.json: linux\.sysctl\["kernel\.pid_max"\]: is not a namespaced sysctl/ },
  { name: 'a sysctl key walking out of /proc/sys', config: (c) => ((c.linux.sysctl = { 'net/../../../etc/passwd': '1' }), c), expect: /^config\.json: linux\.sysctl\["net\/\.\.\/\.\.\/\.\.\/etc\/passwd"\]: / , cmds: ['create'] },
  { name: 'no mount namespace with masked paths', config: (c) => ((c.linux.namespaces = c.linux.namespaces.filter((n: any) => n.type !== 'mount')), c), expect: /^config\.json: linux\.maskedPaths: unable to restrict sys entries without a mount namespace/, cmds: ['create', 'run'] },
  { name: 'a Windows section', config: (c) => ((c.windows = {}), c), expect: /^config\.json: windows: a Windows section cannot be honoured/ },
  { name: 'a number past 1e308', raw: (b) => writeFileSync(join(b, 'config.json'), JSON.stringify(base()).replace('"hard":1024', '"hard":1e400')), expect: /^config\.json: process\.rlimits\[0\]\.hard: / },

  // sizes past the kernel's limits
  { name: 'a 1 MB hostname', config: (c) => ((c.hostname = 'h'.repeat(MB)), c), expect: /^config\.json: hostname: 1048576 bytes long: a hostname is at most 64$/, cmds: ['check', 'create', 'run'] },
  { name: 'a 65-byte hostname', config: (c) => ((c.hostname = 'h'.repeat(65)), c), expect: /^config\.json: hostname: 65 bytes long/ },
  { name: 'a 1 MB argument', config: (c) => ((c.process.args = ['true', 'a'.repeat(MB)]), c), expect: /^config\.json: process\.args\[1\]: 1048576 bytes long: an execve\(2\) argument is at most 131071$/, cmds: ['check', 'create', 'run'] },
  { name: 'a 200 KB argument', config: (c) => ((c.process.args = ['true', 'a'.repeat(200 * 1024)]), c), expect: /^config\.json: process\.args\[1\]: 204800 bytes long: an execve\(2\) argument is at most 131071$/, cmds: ['check', 'create', 'run'] },
  { name: '10 MB of environment', config: (c) => (c.process.env.push(...Array.from({ length: 100 }, (_, i) => `V${i}=${'v'.repeat(100_000)}`)), c), expect: /^config\.json: process\.env: 1 arguments and 102 variables take \d+ bytes with their pointers: more than the \d+ execve\(2\) takes with a stack limit \(RLIMIT_STACK\) of/, cmds: ['check', 'create', 'run'] },
  { name: 'a million arguments', config: (c) => ((c.process.args = ['true', ...Array.from({ length: 1_000_000 }, () => 'a')]), c), expect: /^config\.json: process\.args: 1000001 arguments and 2 variables take \d+ bytes with their pointers: more than/, cmds: ['check', 'create', 'run'] },
  { name: 'environment past a small stack limit', config: (c) => ((c.process.rlimits = [{ type: 'RLIMIT_STACK', soft: 1 << 20, hard: 1 << 20 }]), c.process.env.push(...Array.from({ length: 3 }, (_, i) => `V${i}=${'v'.repeat(100_000)}`)), c), expect: /^config\.json: process\.env: .*more than the 262144 execve\(2\) takes with a stack limit \(RLIMIT_STACK\) of 1048576$/ },
  { name: 'a 1 MB variable', config: (c) => (c.process.env.push(`A=${'a'.repeat(MB)}`), c), expect: /^config\.json: process\.env\[2\]: \d+ bytes long: an execve\(2\) argument/ },
  { name: 'a 1 MB mount destination', config: (c) => ((c.mounts[6].destination = '/' + 'd'.repeat(MB)), c), expect: /^config\.json: mounts\[6\]\.destination: 1048577 bytes long: a path is at most 4095$/ },
  { name: 'a 1 MB cwd', config: (c) => ((c.process.cwd = '/' + 'd'.repeat(MB)), c), expect: /^config\.json: process\.cwd: 1048577 bytes long: a path/ },
  { name: 'a 5000-byte hook path', config: (c) => ((c.hooks = { poststop: [{ path: '/' + 'h'.repeat(5000) }] }), c), expect: /^config\.json: hooks\.poststop\[0\]\.path: 5001 bytes long: a path/ },
  { name: '100k mounts', config: (c) => ((c.mounts = Array.from({ length: 100_001 }, () => ({ destination: '/tmp', type: 'tmpfs', source: 'tmpfs' }))), c), expect: /^config\.json: mounts: 100001 entries: a mount namespace holds at most \d+ mounts/ },
  { name: '100k mistyped mounts', config: (c) => ((c.mounts = Array.from({ length: 100_000 }, () => ({ destination: 1 }))), c), expect: /^config\.json: mounts\[99999\]\.destination: expected a string, got number$/, cmds: ['create'] },

  // the command line
  ...['18446744073709551616', '-1', 'abc', '1e3', '2000000', '', ' 1', '0x10'].map(
    (n): Case => ({ name: `--preserve-fds ${JSON.stringify(n)}`, flags: ['--preserve-fds', n], expect: /^--preserve-fds: /, inConfig: false, cmds: ['create', 'run'] }),
  ),
  ...['', '../x', 'a/b', '.', '..', 'x'.repeat(2000), 'a\nb', 'a b', 'a:b', 'é'].map(
    (id): Case => ({ name: `container id ${JSON.stringify(id.slice(0, 20))}`, id, expect: /container id/, inConfig: false, cmds: ['create', 'run'] }),
  ),
  { name: 'a pid file that is a directory', flags: ['--pid-file', pidDir], expect: /^pid file .* is a directory$/, inConfig: false, cmds: ['create', 'run'] },
  { name: 'a pid file in a missing directory', flags: ['--pid-file', join(pidDir, 'no', 'pid')], expect: /^pid file .* is not a directory$/, inConfig: false, cmds: ['create'] },
  { name: 'a console socket without a terminal', flags: ['--console-socket', join(sandbox.dir, 'nosock')], expect: /^cannot use console socket/, inConfig: false, cmds: ['create'] },
  { name: 'a bundle that does not exist', flags: ['--bundle', join(sandbox.dir, 'nobundle')], expect: /^cannot read .*nobundle\/config\.json: ENOENT/, inConfig: false, cmds: ['check', 'create'] },
  { name: 'a bundle that is a file', flags: ['--bundle', '/etc/passwd'], expect: /^cannot read \/etc\/passwd\/config\.json: ENOTDIR/, inConfig: false, cmds: ['check', 'create'] },
];

/** After a failed assertion, so that one leak does not fail every later case. */
function clearUp(): void {
  for (const id of existsSync(sandbox.root) ? readdirSync(sandbox.root) : []) sandbox.runts(['delete', '--force', id]);
  rmSync(pidDir, { recursive: true, force: true });
  mkdirSync(pidDir);
}

/** The lines of an answer: check's problems, and whatever went to stderr. */
function answerLines(cmd: Command, r: { stdout: string; stderr: string }): string[] {
  const problems = cmd === 'check' ? r.stdout.split('\n').filter((l) => l.startsWith('problem: ')).map((l) => l.slice(9)) : [];
  return [...problems, ...r.stderr.split('\n').filter((l) => l !== '')];
}

t.ok(cases.length >= 100, `at least 100 cases (${cases.length})`);

cases.forEach((c, i) => {
  t.test(c.name, async (t) => {
    const config = c.config ? c.config(base()) : base();
    const bundle = sandbox.bundle(config);
    if (c.raw) {
      spawnSync('rm', ['-rf', join(bundle, 'config.json')]);
      c.raw(bundle);
    }
    const files = readdirSync(bundle).sort();
    const inConfig = c.inConfig ?? c.expect.source.startsWith('^config');
    for (const cmd of c.cmds ?? ['check', 'create']) {
      const flags = c.flags ?? [];
      const withBundle = flags.includes('--bundle') ? flags : ['--bundle', bundle, ...flags];
      const pidFlags = cmd !== 'check' && !flags.includes('--pid-file') ? ['--pid-file', join(pidDir, 'pid')] : [];
      const argv = cmd === 'check' ? ['check', ...withBundle] : [cmd, ...withBundle, ...pidFlags, c.id ?? `hostile${i}`];
      const r = runtsBounded(sandbox.root, sandbox.dir, argv, TIMEOUT);
      const lines = answerLines(cmd, r);
      t.equal(r.status, 1, `${cmd}: exit status 1 (a hang or a signal gives null)`);
      t.ok(lines.some((l) => c.expect.test(l)), `${cmd}: a line matches ${c.expect}`, { lines: lines.slice(0, 5) });
      t.notMatch(r.stdout + r.stderr, CRASH, `${cmd}: no crash`);
      if (inConfig) {
        t.same(lines.filter((l) => !l.startsWith('config.json: ')).slice(0, 3), [], `${cmd}: every line names config.json`);
      }
      t.same(leftovers(sandbox, rootfs), NOTHING, `${cmd}: nothing left`);
      t.same(readdirSync(bundle).sort(), files, `${cmd}: no new file in the bundle`);
      t.same(readdirSync(pidDir), [], `${cmd}: nothing beside the pid file`);
      clearUp();
    }
  });
});

/**
 * exec's process, from a process.json or from the command line laid over the container's
 * process, is checked the same way before anything joins the container.
 */
t.test('exec: arguments and environment past execve\'s limits', async (t) => {
  const config = base();
  config.process.args = ['sleep', '1000'];
  // a small stack limit, so that --env on runts' own command line can pass the process's limit
  config.process.rlimits = [{ type: 'RLIMIT_STACK', soft: 1 << 20, hard: 1 << 20 }];
  const id = 'hostile-exec';
  t.equal(runtsBounded(sandbox.root, sandbox.dir, ['run', '--detach', '--bundle', sandbox.bundle(config), id], TIMEOUT).status, 0, 'the container runs');
  t.teardown(clearUp);
  const pids = () => sandbox.runts(['ps', '--format', 'json', id]).stdout;
  const before = pids();
  const processFile = (name: string, edit: (p: any) => void) => {
    const p = structuredClone(config.process);
    edit(p);
    const file = join(sandbox.dir, `${name}.json`);
    writeFileSync(file, JSON.stringify(p));
    return ['--process', file];
  };
  const exec: { name: string; args: string[]; command?: string[]; expect: RegExp }[] = [
    { name: '10 MB of environment in process.json', args: processFile('env', (p) => p.env.push(...Array.from({ length: 100 }, (_, i) => `V${i}=${'v'.repeat(100_000)}`))), expect: /^\S+env\.json: env: 2 arguments and 102 variables take \d+ bytes with their pointers: more than the 262144 execve\(2\) takes/ },
    { name: 'a million arguments in process.json', args: processFile('args', (p) => (p.args = p.args.concat(Array.from({ length: 1_000_000 }, () => 'a')))), expect: /^\S+args\.json: args: 1000002 arguments and 2 variables take \d+ bytes/ },
    { name: 'a 200 KB argument in process.json', args: processFile('arg', (p) => p.args.push('a'.repeat(200 * 1024))), expect: /^\S+arg\.json: args\[2\]: 204800 bytes long: an execve\(2\) argument is at most 131071$/ },
    { name: '300 KB of --env', args: Array.from({ length: 3 }, (_, i) => ['--env', `V${i}=${'v'.repeat(100_000)}`]).flat(), command: ['true'], expect: /^process\.env: 1 arguments and 5 variables take \d+ bytes with their pointers: more than the 262144 execve\(2\) takes with a stack limit \(RLIMIT_STACK\) of 1048576$/ },
  ];
  for (const c of exec) {
    const start = Date.now();
    const r = runtsBounded(sandbox.root, sandbox.dir, ['exec', ...c.args, id, ...(c.command ?? [])], TIMEOUT);
    t.equal(r.status, 1, `${c.name}: exit status 1`);
    t.match(r.stderr.split('\n').filter((l) => l !== ''), [c.expect], `${c.name}: one line, the problem`);
    t.notMatch(r.stderr, CRASH, `${c.name}: no crash`);
    t.ok(Date.now() - start < TIMEOUT, `${c.name}: within the time bound`);
    t.equal(pids(), before, `${c.name}: no process left in the container`);
  }
});
