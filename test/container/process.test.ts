import t from 'tap';
import { readFileSync } from 'node:fs';
import { Sandbox, baseConfig, sharedRootfs } from '../helpers/containers.js';
import { CAPABILITIES } from '../../src/spec/linux-names.js';
import { apparmorEnabled } from '../../src/linux/process-attributes.js';

const rootfs = sharedRootfs(t);

function run(sb: Sandbox, id: string, args: string[], edit: (c: any) => void = () => {}) {
  const config = baseConfig(rootfs, args);
  edit(config);
  return sb.runts(['run', '--bundle', sb.bundle(config), id]);
}

function status(out: string, field: string): string {
  return new RegExp(`^${field}:\\s*(.*)$`, 'm').exec(out)?.[1] ?? '';
}

function mask(names: string[]): string {
  const m = names.reduce((a, n) => a | (1n << BigInt(CAPABILITIES.indexOf(n))), 0n);
  return m.toString(16).padStart(16, '0');
}

t.test('capabilities: every set as asked, for a non-root user', async (t) => {
  const sb = new Sandbox(t);
  const caps = {
    bounding: ['CAP_CHOWN', 'CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_SETUID'],
    effective: ['CAP_KILL', 'CAP_NET_BIND_SERVICE'],
    permitted: ['CAP_KILL', 'CAP_NET_BIND_SERVICE'],
    inheritable: ['CAP_NET_BIND_SERVICE'],
    ambient: ['CAP_NET_BIND_SERVICE'],
  };
  const r = run(sb, 'caps', ['cat', '/proc/self/status'], (c) => {
    c.process.user = { uid: 1000, gid: 1000 };
    c.process.capabilities = caps;
  });
  t.equal(r.status, 0, r.stderr);
  t.equal(status(r.stdout, 'CapBnd'), mask(caps.bounding), 'bounding');
  // after execve as non-root only ambient caps survive into permitted and effective
  t.equal(status(r.stdout, 'CapAmb'), mask(caps.ambient), 'ambient');
  t.equal(status(r.stdout, 'CapInh'), mask(caps.inheritable), 'inheritable');
  t.equal(status(r.stdout, 'CapPrm'), mask(caps.ambient), 'permitted = ambient after exec');
  t.equal(status(r.stdout, 'CapEff'), mask(caps.ambient), 'effective = ambient after exec');
});

t.test('capabilities: root gets the bounding set; one the host lacks is a warning', async (t) => {
  const sb = new Sandbox(t);
  const hostBnd = BigInt('0x' + status(readFileSync('/proc/self/status', 'utf8'), 'CapBnd'));
  const lacking = CAPABILITIES.find((_, i) => !(hostBnd & (1n << BigInt(i))));
  const asked = ['CAP_CHOWN', 'CAP_SYS_ADMIN', ...(lacking ? [lacking] : [])];
  const r = run(sb, 'rootcaps', ['cat', '/proc/self/status'], (c) => {
    c.process.capabilities = { bounding: asked, effective: asked, permitted: asked };
  });
  t.equal(r.status, 0, r.stderr);
  t.equal(status(r.stdout, 'CapBnd'), mask(['CAP_CHOWN', 'CAP_SYS_ADMIN']));
  t.equal(status(r.stdout, 'CapEff'), mask(['CAP_CHOWN', 'CAP_SYS_ADMIN']));
  if (lacking) t.match(r.stderr, `capability ${lacking} cannot be granted`, 'the spec asks for a warning');
});

t.test('an unknown capability or rlimit fails at create with one clear error', async (t) => {
  const sb = new Sandbox(t);
  const cap = run(sb, 'badcap', ['true'], (c) => (c.process.capabilities.bounding = ['CAP_NOPE']));
  t.equal(cap.status, 1);
  t.match(cap.stderr, /^config\.json: process\.capabilities\.bounding\[0\]: .*CAP_NOPE/m);
  const rl = run(sb, 'badrl', ['true'], (c) => (c.process.rlimits = [{ type: 'RLIMIT_NOPE', soft: 1, hard: 1 }]));
  t.equal(rl.status, 1);
  t.match(rl.stderr, /^config\.json: process\.rlimits\[0\]\.type: .*RLIMIT_NOPE/m);
});

t.test('rlimits, no_new_privs, oom_score_adj, umask', async (t) => {
  const sb = new Sandbox(t);
  const r = run(sb, 'limits', ['sh', '-c', 'cat /proc/self/limits; grep NoNewPrivs /proc/self/status; cat /proc/self/oom_score_adj; umask'], (c) => {
    c.process.rlimits = [
      { type: 'RLIMIT_NOFILE', soft: 321, hard: 654 },
      { type: 'RLIMIT_CORE', soft: 0, hard: 0 },
    ];
    c.process.noNewPrivileges = true;
    c.process.oomScoreAdj = 123;
    c.process.user.umask = 0o027;
  });
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /Max open files\s+321\s+654\s+files/, 'RLIMIT_NOFILE');
  t.match(r.stdout, /Max core file size\s+0\s+0\s+bytes/, 'RLIMIT_CORE');
  t.match(r.stdout, /NoNewPrivs:\s+1/, 'no_new_privs');
  t.match(r.stdout, /\n123\n/, 'oom_score_adj');
  t.match(r.stdout, /0027\n$/, 'umask');
  const off = run(sb, 'nnpoff', ['grep', 'NoNewPrivs', '/proc/self/status'], (c) => (c.process.noNewPrivileges = false));
  t.match(off.stdout, /NoNewPrivs:\s+0/, 'no_new_privs off when not asked');
});

t.test('scheduler, I/O priority, CPU affinity, personality', async (t) => {
  const sb = new Sandbox(t);
  const r = run(sb, 'sched', ['sh', '-c', 'cut -d" " -f41 /proc/self/stat; ionice; grep Cpus_allowed_list /proc/self/status; uname -m'], (c) => {
    c.process.scheduler = { policy: 'SCHED_BATCH', nice: 5 };
    c.process.ioPriority = { class: 'IOPRIO_CLASS_IDLE', priority: 0 };
    c.process.execCPUAffinity = { final: '0' };
    c.linux.personality = { domain: 'LINUX32' };
  });
  t.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  t.equal(lines[0], '3', 'SCHED_BATCH (policy 3)');
  t.match(lines[1], /idle/, 'IOPRIO_CLASS_IDLE');
  t.match(lines[2], /Cpus_allowed_list:\s+0$/, 'final CPU affinity');
  t.match(lines[3], /^i[36]86$/, 'LINUX32 personality');
});

t.test('an LSM label the host cannot honour is a clear error', async (t) => {
  const sb = new Sandbox(t);
  const aa = run(sb, 'aa', ['true'], (c) => (c.process.apparmorProfile = 'runts-test'));
  if (apparmorEnabled()) {
    t.pass('AppArmor is enabled on this host: there is no refusal to see');
  } else {
    t.equal(aa.status, 1);
    t.match(aa.stderr, 'config.json: process.apparmorProfile: AppArmor is not enabled on this host');
  }
});
