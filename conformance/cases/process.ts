import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseKv, type Case } from '../lib/context.js';
import { req } from '../lib/spec.js';

const args = req(
  'config.md',
  'Process',
  "`args` (array of strings, OPTIONAL) with similar semantics to IEEE Std 1003.1-2008 `execvp`'s *argv*.",
);
const argsFile = req(
  'config.md',
  'Process',
  "This specification extends the IEEE standard in that at least one entry is REQUIRED (non-Windows), and that entry is used with the same semantics as `execvp`'s *file*.",
);
const env = req(
  'config.md',
  'Process',
  "`env` (array of strings, OPTIONAL) with the same semantics as IEEE Std 1003.1-2008's `environ`.",
);
const cwd = req(
  'config.md',
  'Process',
  '`cwd` (string, REQUIRED) is the working directory that will be set for the executable.',
);
const terminal = req(
  'config.md',
  'Process',
  '`terminal` (bool, OPTIONAL) specifies whether a terminal is attached to the process, defaults to false.',
);
const nnp = req(
  'config.md',
  'Linux Process',
  '`noNewPrivileges` (bool, OPTIONAL) setting `noNewPrivileges` to true prevents the process from gaining additional privileges.',
);

const ARGS = ['with space', '', 'ünïcode', '$HOME', '*'];
const ENV = ['PATH=/conformance/bin:/usr/bin:/bin', 'EMPTY=', 'WITH_EQUALS=a=b', 'SPACES=one two'];

export const cases: Case[] = [
  {
    name: 'process',
    description: 'args, env, cwd, terminal and noNewPrivileges reach the container process as configured',
    async run(t) {
      const b = await t.bundle((c, b) => {
        // The program is found through the container's PATH, in a directory only it has.
        mkdirSync(join(b.rootfs, 'conformance/bin'), { recursive: true });
        mkdirSync(join(b.rootfs, 'work dir'));
        const script = [
          '#!/bin/sh',
          'for a in "$@"; do echo "arg=[$a]"; done',
          'env | sort | sed "s/^/env=/"',
          'echo "cwd=$(pwd)"',
          '[ -t 0 ] || [ -t 1 ] && echo tty=yes || echo tty=no',
          'echo "nnp=$(grep NoNewPrivs /proc/self/status | tr -d "[:space:]" | cut -d: -f2)"',
        ].join('\n');
        writeFileSync(join(b.rootfs, 'conformance/bin/show-process'), `${script}\n`, { mode: 0o755 });
        c.process!.args = ['show-process', ...ARGS];
        c.process!.env = ENV;
        c.process!.cwd = '/work dir';
        c.process!.terminal = false;
        c.process!.noNewPrivileges = true;
      });
      const out = await t.runToExit(b);
      const lines = out.split('\n');
      t.ok(
        lines.some((l) => l.startsWith('arg=')),
        "args[0] is looked up in the container's PATH and run",
        argsFile,
        { out },
      );
      t.equal(
        lines.filter((l) => l.startsWith('arg=')),
        ARGS.map((a) => `arg=[${a}]`),
        'the arguments reach the program verbatim',
        args,
      );
      const seen = lines.filter((l) => l.startsWith('env=')).map((l) => l.slice(4));
      t.equal(
        ENV.filter((e) => !seen.includes(e)),
        [],
        'every configured environment variable is set, with its value',
        env,
        { seen },
      );
      const kv = parseKv(out);
      t.equal(kv.cwd, '/work dir', 'the working directory is cwd', cwd);
      t.equal(kv.tty, 'no', 'with terminal false, stdin and stdout are not a terminal', terminal);
      t.equal(kv.nnp, '1', 'noNewPrivileges true sets no_new_privs', nnp);

      const off = await t.bundle((c, b) => {
        b.shell('grep NoNewPrivs /proc/self/status | tr -d "[:space:]" | cut -d: -f2');
        c.process!.noNewPrivileges = false;
      });
      t.equal((await t.runToExit(off)).trim(), '0', 'noNewPrivileges false leaves no_new_privs unset', nnp);
    },
  },
];
