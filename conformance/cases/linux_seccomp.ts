import { SPEC_VERSION_1_1 } from '../lib/config.js';
import { parseKv, type Case } from '../lib/context.js';
import { req } from '../lib/spec.js';

const action = req('config-linux.md', 'Seccomp', '`action` (string, REQUIRED) - the action for seccomp rules.');
const errnoRet = req('config-linux.md', 'Seccomp', '`errnoRet` (uint, OPTIONAL) - the errno return code to use.');
const defaultErrno = req('config-linux.md', 'Seccomp', 'The default is `EPERM`.');
const args = req(
  'config-linux.md',
  'Seccomp',
  '`args` (array of objects, OPTIONAL) - the specific syscall in seccomp.',
);
const defaultAction = req(
  'config-linux.md',
  'Seccomp',
  '`defaultAction` (string, REQUIRED) - the default action for seccomp.',
);

const EACCES = 13;

export const cases: Case[] = [
  {
    name: 'linux_seccomp',
    description: 'seccomp rules deny the named syscalls with the configured errno, matching arguments where given',
    async run(t) {
      const b = await t.bundle((c, b) => {
        c.ociVersion = SPEC_VERSION_1_1;
        b.linux.seccomp = {
          defaultAction: 'SCMP_ACT_ALLOW',
          syscalls: [
            { names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO' },
            { names: ['symlink', 'symlinkat'], action: 'SCMP_ACT_ERRNO', errnoRet: EACCES },
            // chmod(path, mode) and fchmodat(dirfd, path, mode): only mode 0777 is refused.
            { names: ['chmod'], action: 'SCMP_ACT_ERRNO', args: [{ index: 1, value: 0o777, op: 'SCMP_CMP_EQ' }] },
            { names: ['fchmodat'], action: 'SCMP_ACT_ERRNO', args: [{ index: 2, value: 0o777, op: 'SCMP_CMP_EQ' }] },
          ],
        };
        b.shell(
          [
            'echo "seccomp=$(grep ^Seccomp: /proc/self/status | tr -d "[:space:]" | cut -d: -f2)"',
            'echo "mkdir=$(mkdir /tmp/denied 2>&1)"',
            'echo "symlink=$(ln -s /tmp /tmp/link 2>&1)"',
            'touch /tmp/file',
            'echo "chmod777=$(chmod 777 /tmp/file 2>&1)"',
            'echo "chmod755=$(chmod 755 /tmp/file 2>&1 && stat -c %a /tmp/file)"',
            'echo "other=$(echo allowed)"',
          ].join('; '),
        );
      });
      const kv = parseKv(await t.runToExit(b));
      t.equal(kv.seccomp, '2', 'the process runs under a seccomp filter', defaultAction);
      t.ok(
        (kv.mkdir ?? '').includes('Operation not permitted'),
        'SCMP_ACT_ERRNO without errnoRet fails mkdir with EPERM',
        defaultErrno,
        {
          mkdir: kv.mkdir,
        },
      );
      t.ok((kv.symlink ?? '').includes('Permission denied'), 'errnoRet 13 fails symlink with EACCES', errnoRet, {
        symlink: kv.symlink,
      });
      t.ok(
        (kv.chmod777 ?? '').includes('Operation not permitted'),
        'chmod to 0777 matches the argument rule and fails',
        args,
        {
          chmod777: kv.chmod777,
        },
      );
      t.equal(kv.chmod755, '755', 'chmod to 0755 does not match the argument rule and succeeds', args);
      t.equal(kv.other, 'allowed', 'syscalls no rule names follow defaultAction SCMP_ACT_ALLOW', action);
    },
  },
];
