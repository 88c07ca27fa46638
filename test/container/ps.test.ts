import t from 'tap';
import { Sandbox, baseConfig, sharedRootfs, until } from '../helpers/containers.js';

/** runts ps: the container's pids as JSON, and ps(1)'s table filtered to them. */

const rootfs = sharedRootfs(t);

t.test('ps --format json and the table, with and without ps options', async (t) => {
  const sb = new Sandbox(t);
  const r = sb.runts(['run', '--detach', '--bundle', sb.bundle(baseConfig(rootfs, ['sh', '-c', 'sleep 1000 & sleep 1001'])), 'psc']);
  t.equal(r.status, 0, r.stderr);
  const init = sb.state('psc').pid as number;
  let pids: number[] = [];
  t.ok(await until(() => {
    pids = JSON.parse(sb.runts(['ps', '--format', 'json', 'psc']).stdout);
    return pids.length === 2;
  }), `two processes: ${JSON.stringify(pids)}`);
  t.ok(pids.includes(init), 'the init is one of them');

  const table = sb.runts(['ps', 'psc']);
  t.equal(table.status, 0, table.stderr);
  const [header, ...rows] = table.stdout.trim().split('\n');
  t.match(header, /^UID\s+PID\s+PPID/, 'ps -ef header');
  t.same(rows.map((l) => Number(l.trim().split(/\s+/)[1])).sort(), [...pids].sort(), 'only the container\'s processes');
  t.ok(rows.some((l) => l.includes('sleep 1001')) && rows.some((l) => l.includes('sleep 1000')));

  const custom = sb.runts(['ps', 'psc', '-o', 'pid,args']);
  t.equal(custom.status, 0, custom.stderr);
  const lines = custom.stdout.trim().split('\n');
  t.match(lines[0], /^\s*PID\s+COMMAND$/, 'ps options pass through');
  t.equal(lines.length, 3);

  const noPid = sb.runts(['ps', 'psc', '-o', 'args']);
  t.equal(noPid.status, 1);
  t.equal(noPid.stderr.trim(), 'couldn\'t find PID field in ps output');

  t.equal(sb.runts(['ps', 'nosuch']).stderr.trim(), 'container does not exist: nosuch');
  sb.runts(['kill', 'psc', 'KILL']);
  t.ok(await until(() => sb.state('psc').status === 'stopped'));
  t.equal(sb.runts(['ps', '--format', 'json', 'psc']).stdout.trim(), '[]', 'a stopped container has none');
});
