import t from 'tap';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Sandbox, baseConfig, sharedRootfs } from '../helpers/containers.js';

const rootfs = sharedRootfs(t);

function run(sb: Sandbox, id: string, args: string[], edit: (c: any) => void) {
  const config = baseConfig(rootfs, args);
  edit(config);
  return sb.runts(['run', '--bundle', sb.bundle(config), id]);
}

const SIGSYS = 31;

/** Enough for busybox's sh, true, mkdir and cat, in the style of the engines' default profiles. */
const ALLOWED = [
  'access', 'arch_prctl', 'brk', 'capget', 'capset', 'chdir', 'clone', 'clone3', 'close', 'close_range', 'dup', 'dup2',
  'dup3', 'execve', 'execveat', 'exit', 'exit_group', 'faccessat', 'faccessat2', 'fchdir', 'fcntl', 'fstat', 'futex',
  'getcwd', 'getdents64', 'getegid', 'geteuid', 'getgid', 'getpgrp', 'getpid', 'getppid', 'getrandom', 'getuid',
  'ioctl', 'lseek', 'lstat', 'madvise', 'mmap', 'mprotect', 'munmap', 'newfstatat', 'open', 'openat', 'openat2',
  'pipe', 'pipe2', 'prctl', 'pread64', 'prlimit64', 'read', 'readlink', 'readlinkat', 'rseq', 'rt_sigaction',
  'rt_sigprocmask', 'rt_sigreturn', 'set_robust_list', 'set_tid_address', 'setgroups', 'setresgid', 'setresuid',
  'setpgid', 'stat', 'statx', 'umask', 'uname', 'vfork', 'wait4', 'write', 'writev',
];

t.test('an ERRNO rule: mkdir fails with EPERM, the rest works, the status shows the filter', async (t) => {
  const sb = new Sandbox(t);
  const r = run(sb, 'errno', ['sh', '-c', 'mkdir /tmp/x; echo "mkdir=$?"; grep ^Seccomp /proc/self/status; ls /bin/busybox'], (c) => {
    c.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO' }] };
  });
  t.equal(r.status, 0, r.stderr);
  t.match(r.stderr, /can't create directory '\/tmp\/x': Operation not permitted/);
  t.match(r.stdout, /^mkdir=1$/m);
  t.match(r.stdout, /^Seccomp:\s+2$/m, 'filter mode');
  t.match(r.stdout, /^Seccomp_filters:\s+1$/m, 'one filter');
  t.match(r.stdout, /^\/bin\/busybox$/m, 'other commands work');
});

t.test('errnoRet and defaultErrnoRet are the errors the calls return', async (t) => {
  const sb = new Sandbox(t);
  const rule = run(sb, 'enosys', ['mkdir', '/tmp/x'], (c) => {
    c.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 }] };
  });
  t.equal(rule.status, 1);
  t.match(rule.stderr, /Function not implemented/, 'ENOSYS (38)');
  const dflt = run(sb, 'dflt', ['sh', '-c', 'mkdir /tmp/x || echo failed'], (c) => {
    c.linux.seccomp = {
      defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 95, architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
      syscalls: [{ names: ALLOWED, action: 'SCMP_ACT_ALLOW' }],
    };
  });
  t.equal(dflt.status, 0, dflt.stderr);
  t.match(dflt.stderr, /Not supported|Operation not supported/, 'EOPNOTSUPP (95) for a call off the allow-list');
  t.match(dflt.stdout, /^failed$/m);
});

t.test('argument conditions: a rule matches only the values it names', async (t) => {
  const sb = new Sandbox(t);
  const SIGUSR1 = 10;
  const SIGUSR2 = 12;
  const SIGTERM = 15;
  const script = 'for s in USR1 USR2 TERM 0; do kill -$s $$ 2>/dev/null; echo "$s=$?"; done';
  const r = run(sb, 'args', ['sh', '-c', `trap '' TERM; ${script}`], (c) => {
    c.linux.seccomp = {
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [
        // the same argument twice: either value matches (one rule per condition)
        { names: ['kill'], action: 'SCMP_ACT_ERRNO', args: [
          { index: 1, value: SIGUSR1, op: 'SCMP_CMP_EQ' }, { index: 1, value: SIGUSR2, op: 'SCMP_CMP_EQ' },
        ] },
        { names: ['kill'], action: 'SCMP_ACT_ERRNO', errnoRet: 38, args: [{ index: 1, value: 0xff, valueTwo: SIGTERM, op: 'SCMP_CMP_MASKED_EQ' }] },
      ],
    };
  });
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /^USR1=1$/m, 'kill(pid, SIGUSR1) refused');
  t.match(r.stdout, /^USR2=1$/m, 'kill(pid, SIGUSR2) refused');
  t.match(r.stdout, /^TERM=1$/m, 'kill(pid, SIGTERM) refused by the masked comparison');
  t.match(r.stdout, /^0=0$/m, 'kill(pid, 0) allowed');
});

t.test('default action ERRNO with an allow-list runs busybox; a call off the list is refused', async (t) => {
  const sb = new Sandbox(t);
  const seccomp = {
    defaultAction: 'SCMP_ACT_ERRNO', architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
    flags: ['SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW'],
    syscalls: [{ names: ALLOWED, action: 'SCMP_ACT_ALLOW' }],
  };
  const ok = run(sb, 'true', ['true'], (c) => (c.linux.seccomp = seccomp));
  t.equal(ok.status, 0, ok.stderr);
  const off = run(sb, 'off', ['sh', '-c', 'mkdir /tmp/x'], (c) => (c.linux.seccomp = seccomp));
  t.equal(off.status, 1);
  t.match(off.stderr, /Operation not permitted/);
});

t.test('kill actions end the process with SIGSYS', async (t) => {
  const sb = new Sandbox(t);
  const r = run(sb, 'killproc', ['mkdir', '/tmp/x'], (c) => {
    c.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_KILL_PROCESS' }] };
  });
  t.equal(r.status, 128 + SIGSYS);
});

t.test('a non-root user without no_new_privs still gets the filter', async (t) => {
  const sb = new Sandbox(t);
  const r = run(sb, 'nonroot', ['sh', '-c', 'id -u; grep -E "^(Seccomp|NoNewPrivs):" /proc/self/status; mkdir /tmp/x'], (c) => {
    c.process.user = { uid: 1000, gid: 1000 };
    c.process.noNewPrivileges = false;
    c.linux.seccomp = {
      defaultAction: 'SCMP_ACT_ERRNO',
      syscalls: [{ names: ALLOWED, action: 'SCMP_ACT_ALLOW' }],
    };
  });
  t.equal(r.status, 1);
  t.match(r.stdout, /^1000$/m);
  t.match(r.stdout, /^NoNewPrivs:\s+0$/m);
  t.match(r.stdout, /^Seccomp:\s+2$/m);
  t.match(r.stderr, /can't create directory '\/tmp\/x': Operation not permitted/, 'the filter holds');
});

t.test('a profile runts cannot apply fails at create with one clear error and leaves nothing', async (t) => {
  const sb = new Sandbox(t);
  const cases: [string, (c: any) => void, RegExp][] = [
    ['badaction', (c) => (c.linux.seccomp = { defaultAction: 'SCMP_ACT_NOPE' }),
      /^config\.json: linux\.seccomp\.defaultAction: .*SCMP_ACT_NOPE/],
    ['notifywrite', (c) => (c.linux.seccomp = {
      defaultAction: 'SCMP_ACT_ALLOW', listenerPath: '/run/agent.sock', syscalls: [{ names: ['write'], action: 'SCMP_ACT_NOTIFY' }],
    }), /^config\.json: linux\.seccomp\.syscalls\[0\]\.names\[0\]: SCMP_ACT_NOTIFY cannot be used for the write system call$/],
    ['badindex', (c) => (c.linux.seccomp = {
      defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['kill'], action: 'SCMP_ACT_ERRNO', args: [{ index: 6, value: 1, op: 'SCMP_CMP_EQ' }] }],
    }), /^config\.json: linux\.seccomp\.syscalls\[0\]\.args\[0\]\.index: /],
  ];
  for (const [id, edit, message] of cases) {
    const config = baseConfig(rootfs, ['true']);
    edit(config);
    const r = sb.runts(['create', '--bundle', sb.bundle(config), id]);
    t.equal(r.status, 1, id);
    const lines = r.stderr.trim().split('\n');
    t.equal(lines.length, 1, `${id}: one error line`);
    t.match(lines[0], message, id);
    t.notOk(existsSync(join(sb.root, id)), `${id}: no state left`);
  }
  t.same(existsSync(sb.root) ? readdirSync(sb.root) : [], [], 'no container at all');
});

t.test('a profile that denies close_range, loaded before the user switch, still starts the process', async (t) => {
  // Engines' older default profiles lack close_range; without noNewPrivileges the filter is
  // loaded while the setup still has work to do, and none of that work may be a call the
  // profile can deny.
  const sb = new Sandbox(t);
  for (const noNewPrivileges of [false, true]) {
    const r = run(sb, `closerange${noNewPrivileges}`, ['sh', '-c', 'echo started; id -u'], (c) => {
      c.process.noNewPrivileges = noNewPrivileges;
      c.process.user = { uid: 1000, gid: 1000 };
      c.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['close_range'], action: 'SCMP_ACT_ERRNO' }] };
    });
    t.equal(r.status, 0, `noNewPrivileges ${noNewPrivileges}: ${r.stderr}`);
    t.equal(r.stdout, 'started\n1000\n');
  }
});

const python = '/usr/bin/python3';

t.test('a system call newer than every one the profile names fails with ENOSYS, not the default action', {
  skip: !existsSync(python) && 'no python3 on this host',
}, async (t) => {
  // The probe is the host's python3, bound in with its libraries; the profile allows every
  // system call this libseccomp knows below 440 except getcpu, and denies the rest.
  const koffi = (await import('koffi')).default;
  const resolve = koffi.load('libseccomp.so.2').func('const char *seccomp_syscall_resolve_num_arch(uint32_t, int)');
  const names: string[] = [];
  for (let nr = 0; nr < 440; nr++) {
    const name = resolve(0, nr) as string | null;
    if (name && name !== 'getcpu') names.push(name);
  }
  const sb = new Sandbox(t);
  const probe = 'import ctypes; c = ctypes.CDLL(None, use_errno=True); ' +
    'r = c.syscall(309, 0, 0, 0); print("getcpu", r, ctypes.get_errno()); ' +
    'r = c.syscall(600); print("unknown", r, ctypes.get_errno())';
  const r = run(sb, 'enosys-stub', [python, '-c', probe], (c) => {
    c.mounts.push(
      { destination: '/usr', type: 'bind', source: '/usr', options: ['rbind', 'ro'] },
      { destination: '/lib', type: 'bind', source: '/usr/lib', options: ['rbind', 'ro'] },
      { destination: '/lib64', type: 'bind', source: '/usr/lib64', options: ['rbind', 'ro'] },
    );
    c.linux.seccomp = { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names, action: 'SCMP_ACT_ALLOW' }] };
  });
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /^getcpu -1 1$/m, 'a known system call the profile leaves out gets the default action (EPERM)');
  t.match(r.stdout, /^unknown -1 38$/m, 'one newer than the profile gets ENOSYS');
});

t.test('with noNewPrivileges, startContainer hooks run under the container\'s filter, as in runc', async (t) => {
  const sb = new Sandbox(t);
  const r = run(sb, 'hookfilter', ['cat', '/tmp/hook-mkdir'], (c) => {
    c.process.noNewPrivileges = true;
    c.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO' }] };
    c.hooks = { startContainer: [{ path: '/bin/sh', args: ['sh', '-c', 'mkdir /tmp/hookdir 2>/dev/null; echo $? > /tmp/hook-mkdir'] }] };
  });
  t.equal(r.status, 0, r.stderr);
  t.equal(r.stdout.trim(), '1', 'the hook\'s mkdir was denied');
});

t.test('startContainer hooks start under a profile that answers clone3 with ENOSYS, as the engines\' do', async (t) => {
  const sb = new Sandbox(t);
  for (const noNewPrivileges of [false, true]) {
    const r = run(sb, `hookclone3${noNewPrivileges}`, ['cat', '/tmp/hook-ran'], (c) => {
      c.process.noNewPrivileges = noNewPrivileges;
      c.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 }] };
      c.hooks = { startContainer: [{ path: '/bin/sh', args: ['sh', '-c', 'echo yes > /tmp/hook-ran'] }] };
    });
    t.equal(r.status, 0, `noNewPrivileges ${noNewPrivileges}: ${r.stderr}`);
    t.equal(r.stdout.trim(), 'yes');
  }
});
