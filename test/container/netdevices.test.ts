import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { Sandbox, baseConfig, sharedRootfs } from '../helpers/containers.js';

/**
 * linux.netDevices with a real interface: one end of a veth pair made for the test (this
 * kernel may lack the dummy driver), with a documentation address of each family. No
 * traffic is sent. As the spec says, nothing moves it back: when the container's network
 * namespace goes, the kernel destroys a virtual device (and its peer).
 */

const rootfs = sharedRootfs(t);
const tag = String(process.pid % 100000);

function ip(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A veth pair rtv<tag><n>a / …b with 192.0.2.1/24 and 2001:db8::1/64 on the a end; removed at teardown. */
function vethPair(tt: { teardown(fn: () => void): void }, n: number): string {
  const a = `rtv${tag}${n}a`;
  const r = ip(['link', 'add', a, 'type', 'veth', 'peer', 'name', `rtv${tag}${n}b`]);
  if (r.status !== 0) throw new Error(`ip link add: ${r.stderr}`);
  tt.teardown(() => {
    if (existsSync(`/sys/class/net/${a}`)) ip(['link', 'del', a]);
  });
  ip(['addr', 'add', '192.0.2.1/24', 'dev', a]);
  ip(['addr', 'add', '2001:db8::1/64', 'dev', a, 'nodad']);
  return a;
}

function config(args: string[], netDevices: object): any {
  const c = baseConfig(rootfs, args);
  c.linux.netDevices = netDevices;
  return c;
}

const haveIp = spawnSync('ip', ['-V']).status === 0;

t.test('moved, renamed, its addresses kept and up: seen inside and from the host', { skip: haveIp ? false : 'no ip(8)' }, async (t) => {
  const sb = new Sandbox(t);
  const dev = vethPair(t, 0);
  const c = config(['sleep', '1000'], { [dev]: { name: 'ctr0' } });
  const r = sb.runts(['create', '--bundle', sb.bundle(c), 'n']);
  t.equal(r.status, 0, r.stderr);
  t.notOk(existsSync(`/sys/class/net/${dev}`), 'gone from the host');
  const pid = sb.state('n').pid;
  const outside = spawnSync('nsenter', ['-t', String(pid), '-n', 'ip', '-o', 'addr', 'show', 'dev', 'ctr0'], { encoding: 'utf8' }).stdout;
  t.match(outside, /inet 192\.0\.2\.1\/24 .*scope global/, 'the IPv4 address, from the host in the container\'s namespace');
  t.match(outside, /inet6 2001:db8::1\/64 scope global/, 'the IPv6 address');
  t.equal(sb.runts(['start', 'n']).status, 0);
  const inside = sb.runts(['exec', 'n', 'ip', 'addr', 'show', 'ctr0']);
  t.equal(inside.status, 0, inside.stderr);
  t.match(inside.stdout, /^\d+: ctr0@\S+: <[^>]*\bUP\b[^>]*>/m, 'up, named ctr0, inside');
  t.match(inside.stdout, /inet 192\.0\.2\.1\/24/);
  t.equal(sb.runts(['delete', '--force', 'n']).status, 0);
  // the namespace is freed a moment after its last process
  let back = true;
  for (let i = 0; i < 100 && (back = existsSync(`/sys/class/net/${dev}`) || existsSync(`/sys/class/net/rtv${tag}0b`)); i++) {
    await new Promise((res) => setTimeout(res, 20));
  }
  t.notOk(back, 'not moved back: the kernel destroyed the virtual pair with the namespace');
});

t.test('a %d name gets its number from the kernel', { skip: haveIp ? false : 'no ip(8)' }, async (t) => {
  const sb = new Sandbox(t);
  const dev = vethPair(t, 1);
  const r = sb.runts(['run', '--bundle', sb.bundle(config(['ip', '-o', 'link'], { [dev]: { name: 'eth%d' } })), 'd']);
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /^\d+: eth0@/m);
});

t.test('what cannot be moved fails create, naming the device, and leaves nothing', { skip: haveIp ? false : 'no ip(8)' }, async (t) => {
  const sb = new Sandbox(t);
  const dev = vethPair(t, 2);
  const cases: [object, string, ((c: any) => void)?][] = [
    [{ [dev]: { name: 'lo' } }, `config.json: linux.netDevices.${dev}.name: a network interface named lo exists in the container's network namespace`],
    [{ nosuch0: {} }, 'config.json: linux.netDevices.nosuch0: no network interface nosuch0 on this host'],
    [{ [dev]: { name: 'a/b' } }, `config.json: linux.netDevices.${dev}.name: "a/b" is not a network interface name`],
    [{ [dev]: { name: 'x%d%d' } }, `config.json: linux.netDevices.${dev}.name: "x%d%d" is not a network interface name`],
    [{ [dev]: {} }, 'config.json: linux.netDevices: needs a network namespace of the container (linux.namespaces)',
      (c) => (c.linux.namespaces = c.linux.namespaces.filter((n: { type: string }) => n.type !== 'network'))],
  ];
  cases.forEach(([devices, message, edit], i) => {
    const c = config(['true'], devices);
    edit?.(c);
    const r = sb.runts(['create', '--bundle', sb.bundle(c), `e${i}`]);
    t.equal(r.status, 1, JSON.stringify(devices));
    t.ok(r.stderr.trim().startsWith(message), r.stderr.trim());
  });
  t.ok(existsSync(`/sys/class/net/${dev}`), 'the device stayed on the host');
  t.match(ip(['-o', 'addr', 'show', 'dev', dev]).stdout, /192\.0\.2\.1\/24/, 'with its address');
  t.same(existsSync(sb.root) ? readdirSync(sb.root) : [], [], 'no container left');
});
