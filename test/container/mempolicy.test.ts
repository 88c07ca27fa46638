import t from 'tap';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { Sandbox, baseConfig, sharedRootfs } from '../helpers/containers.js';

/**
 * linux.memoryPolicy: the policy set_mempolicy gave the process, as /proc/<pid>/numa_maps
 * shows it for every mapping without a policy of its own ("bind:0", "interleave=static:0").
 * This host may have a single node, 0: every mode can still be set on it.
 */

const rootfs = sharedRootfs(t);

function policyOf(numaMaps: string): string {
  return numaMaps.split('\n')[0].split(' ')[1];
}

function config(args: string[], memoryPolicy: object): any {
  const c = baseConfig(rootfs, args);
  c.linux.memoryPolicy = memoryPolicy;
  return c;
}

t.test('each mode, seen inside by the process and outside in /proc/<pid>/numa_maps', async (t) => {
  const sb = new Sandbox(t);
  const cases: [object, string][] = [
    [{ mode: 'MPOL_BIND', nodes: '0' }, 'bind:0'],
    [{ mode: 'MPOL_INTERLEAVE', nodes: '0' }, 'interleave:0'],
    [{ mode: 'MPOL_PREFERRED', nodes: '0' }, 'prefer:0'],
    [{ mode: 'MPOL_PREFERRED', nodes: '' }, 'local'],
    [{ mode: 'MPOL_LOCAL' }, 'local'],
    [{ mode: 'MPOL_DEFAULT' }, 'default'],
    [{ mode: 'MPOL_PREFERRED_MANY', nodes: '0' }, 'prefer (many):0'],
    [{ mode: 'MPOL_WEIGHTED_INTERLEAVE', nodes: '0' }, 'weighted interleave:0'],
    [{ mode: 'MPOL_BIND', nodes: '0', flags: ['MPOL_F_STATIC_NODES'] }, 'bind=static:0'],
    [{ mode: 'MPOL_INTERLEAVE', nodes: '0', flags: ['MPOL_F_RELATIVE_NODES'] }, 'interleave=relative:0'],
    [{ mode: 'MPOL_BIND', nodes: '0', flags: ['MPOL_F_NUMA_BALANCING'] }, 'bind=balancing:0'],
  ];
  cases.forEach(([policy, shown], i) => {
    const r = sb.runts(['run', '--bundle', sb.bundle(config(['cat', '/proc/self/numa_maps'], policy)), `p${i}`]);
    t.equal(r.status, 0, r.stderr);
    // numa_maps names "prefer (many)" and "weighted interleave" with a space: read up to the next field
    const first = r.stdout.split('\n')[0];
    t.ok(first.includes(` ${shown} `) || first.endsWith(` ${shown}`), `${JSON.stringify(policy)}: ${first}`);
  });

  const c = config(['sleep', '1000'], { mode: 'MPOL_INTERLEAVE', nodes: '0' });
  t.equal(sb.runts(['run', '--detach', '--bundle', sb.bundle(c), 'outside']).status, 0);
  const pid = sb.state('outside').pid;
  t.equal(policyOf(readFileSync(`/proc/${pid}/numa_maps`, 'utf8')), 'interleave:0', 'the container\'s process, from the host');
  const exec = sb.runts(['exec', 'outside', 'cat', '/proc/self/numa_maps']);
  t.equal(policyOf(exec.stdout), 'interleave:0', 'an exec\'d process has it too');
});

t.test('a policy this host or the kernel cannot take fails create with its config path, leaving nothing', async (t) => {
  const sb = new Sandbox(t);
  const online = readFileSync('/sys/devices/system/node/has_memory', 'utf8').trim();
  const cases: [object, string][] = [
    [{ mode: 'MPOL_BIND', nodes: '63' }, `config.json: linux.memoryPolicy.nodes: node 63 of "63" has no memory on this host (nodes with memory: ${online})`],
    [{ mode: 'MPOL_BIND', nodes: '0-x' }, 'config.json: linux.memoryPolicy.nodes: "0-x" is not a list'],
    [{ mode: 'MPOL_BIND', nodes: '0', flags: ['MPOL_F_STATIC_NODES', 'MPOL_F_RELATIVE_NODES'] }, 'config.json: linux.memoryPolicy.flags: MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES exclude each other'],
    [{ mode: 'MPOL_INTERLEAVE', nodes: '0', flags: ['MPOL_F_NUMA_BALANCING'] }, 'config.json: linux.memoryPolicy.flags: MPOL_F_NUMA_BALANCING needs MPOL_BIND, not MPOL_INTERLEAVE'],
    [{ mode: 'MPOL_BIND' }, 'config.json: linux.memoryPolicy.nodes: missing (required with MPOL_BIND)'],
    [{ mode: 'MPOL_LOCAL', nodes: '0' }, 'config.json: linux.memoryPolicy.nodes: not allowed with MPOL_LOCAL'],
    [{ mode: 'MPOL_NOPE', nodes: '0' }, 'config.json: linux.memoryPolicy.mode:'],
  ];
  cases.forEach(([policy, message], i) => {
    const r = sb.runts(['create', '--bundle', sb.bundle(config(['true'], policy)), `e${i}`]);
    t.equal(r.status, 1, JSON.stringify(policy));
    t.ok(r.stderr.trim().startsWith(message), `${JSON.stringify(policy)}: ${r.stderr.trim()}`);
  });
  t.same(existsSync(sb.root) ? readdirSync(sb.root).filter((d) => !d.startsWith('.')) : [], [], 'no container left');
});
