import t from 'tap';
import { execArgumentsProblem } from '../../src/spec/exec-args.js';

/**
 * execve's limit as fs/exec.c computes it: a quarter of the process's stack limit, at
 * least 128 KiB and at most 6 MiB, for the strings with their NULs, their pointers and
 * the executable's path.
 */

const stack = (soft: number) => [{ type: 'RLIMIT_STACK', soft, hard: soft }];
/** A process whose args, env, pointers and path ("/bin/x") take exactly `total` bytes. */
function filling(total: number, soft: number): Record<string, unknown> {
  // the path execve is given, args[0] and "P=", each with its NUL, and two pointers
  const fixed = 7 + 7 + 3 + 2 * 8;
  return { args: ['/bin/x'], env: [`P=${'p'.repeat(total - fixed)}`], rlimits: stack(soft) };
}

for (const [soft, limit] of [[1 << 20, 262144], [4096, 131072], [64 << 20, 6291456], [2 ** 64 - 1, 6291456]] as const) {
  t.test(`RLIMIT_STACK ${soft}: ${limit} bytes`, async (t) => {
    t.equal(execArgumentsProblem(filling(limit, soft)), undefined, 'the limit itself passes');
    const over = execArgumentsProblem(filling(limit + 1, soft));
    t.equal(over?.path, 'process.env');
    t.match(over?.message, new RegExp(`take ${limit + 1} bytes with their pointers: more than the ${limit} execve\\(2\\) takes`));
  });
}

t.test('a command along PATH counts its longest candidate', async (t) => {
  const proc = (path: string) => ({ args: ['x'], env: [`PATH=${path}`, `P=${'p'.repeat(262144 - 400)}`], rlimits: stack(1 << 20) });
  t.equal(execArgumentsProblem(proc('/a')), undefined);
  t.equal(execArgumentsProblem(proc(`/a:/${'d'.repeat(400)}`))?.path, 'process.env');
});

t.test('a million arguments are too many for their pointers alone', async (t) => {
  const p = execArgumentsProblem({ args: Array.from({ length: 1_000_000 }, () => ''), rlimits: stack(64 << 20) });
  t.equal(p?.path, 'process.args');
});
