import t from 'tap';
import { compileSeccomp, emitSeccomp, seccompFeatures } from '../../src/linux/seccomp.js';
import { Emitter } from '../../src/program/emit.js';
import {
  SECCOMP_FILTER_FLAG_LOG, SECCOMP_FILTER_FLAG_NEW_LISTENER, SECCOMP_FILTER_FLAG_SPEC_ALLOW, SECCOMP_FILTER_FLAG_TSYNC,
  SECCOMP_FILTER_FLAG_TSYNC_ESRCH, SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, SECCOMP_SET_MODE_FILTER,
} from '../../src/sys/constants.js';
import type { LinuxSeccomp, Spec } from '../../src/spec/types/config.js';

/** Compiling needs libseccomp and a memfd, no root. */

const BPF_RET_K = 0x06;

/** The constants of the filter's return instructions (struct sock_filter: u16 code, u8 jt, u8 jf, u32 k). */
function returns(bpf: Buffer): number[] {
  const out: number[] = [];
  for (let i = 0; i < bpf.length; i += 8) {
    if (bpf.readUInt16LE(i) === BPF_RET_K) out.push(bpf.readUInt32LE(i + 4));
  }
  return out;
}

const profile: LinuxSeccomp = {
  defaultAction: 'SCMP_ACT_ALLOW',
  architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_AARCH64'],
  syscalls: [
    { names: ['mkdir', 'mkdirat', 'no_such_syscall'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 },
    { names: ['kill'], action: 'SCMP_ACT_ERRNO', args: [{ index: 1, value: 0xff, valueTwo: 9, op: 'SCMP_CMP_MASKED_EQ' }] },
    { names: ['personality'], action: 'SCMP_ACT_KILL_PROCESS', args: [{ index: 0, value: 0xffffffff, op: 'SCMP_CMP_EQ' }] },
  ],
};

t.test('a profile compiles to BPF: whole instructions, its actions in the returns', async (t) => {
  const { bpf, flags } = compileSeccomp(profile);
  t.ok(bpf.length > 0, 'not empty');
  t.equal(bpf.length % 8, 0, 'a multiple of 8 bytes');
  t.equal(flags, 0);
  const rets = returns(bpf);
  t.ok(rets.includes(0x7fff0000), 'SCMP_ACT_ALLOW (the default)');
  t.ok(rets.includes(0x00050000 | 38), 'SCMP_ACT_ERRNO with errnoRet 38');
  t.ok(rets.includes(0x00050000 | 1), 'SCMP_ACT_ERRNO defaults to EPERM');
  t.ok(rets.includes(0x80000000), 'SCMP_ACT_KILL_PROCESS');
  t.ok(bpf.length > compileSeccomp({ defaultAction: 'SCMP_ACT_ALLOW' }).bpf.length, 'rules add instructions');
});

t.test('defaultErrnoRet, and a rule with the default action adds nothing', async (t) => {
  const { bpf } = compileSeccomp({
    defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 95, syscalls: [{ names: ['getpid'], action: 'SCMP_ACT_ERRNO', errnoRet: 95 }],
  });
  t.ok(returns(bpf).includes(0x00050000 | 95));
  t.same(bpf, compileSeccomp({ defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 95 }).bpf);
});

t.test('flags go to seccomp(2); WAIT_KILLABLE_RECV only ever applies with a listener', async (t) => {
  const { flags } = compileSeccomp({
    defaultAction: 'SCMP_ACT_ALLOW',
    flags: ['SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW', 'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'],
  });
  t.equal(flags, SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_SPEC_ALLOW);
});

t.test('a NOTIFY rule: the listener flag, WAIT_KILLABLE_RECV kept, TSYNC made to fail with ESRCH', async (t) => {
  const notify: LinuxSeccomp = {
    defaultAction: 'SCMP_ACT_ALLOW', listenerPath: '/s',
    flags: ['SECCOMP_FILTER_FLAG_TSYNC', 'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'],
    syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }],
  };
  const c = compileSeccomp(notify);
  t.equal(c.notify, true);
  t.equal(c.flags, SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_TSYNC | SECCOMP_FILTER_FLAG_TSYNC_ESRCH | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV);
  t.ok(returns(c.bpf).includes(0x7fc00000), 'SECCOMP_RET_USER_NOTIF');
  t.equal(compileSeccomp(profile).notify, false);
});

t.test('what cannot be compiled is an error naming its config path', async (t) => {
  t.throws(() => compileSeccomp({ defaultAction: 'SCMP_ACT_NOTIFY', listenerPath: '/s' }), {
    message: 'config.json: linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action',
  });
  t.throws(() => compileSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', listenerPath: '/s', syscalls: [{ names: ['read', 'write'], action: 'SCMP_ACT_NOTIFY' }] }), {
    message: 'config.json: linux.seccomp.syscalls[0].names[1]: SCMP_ACT_NOTIFY cannot be used for the write system call',
  });
  t.throws(() => compileSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', listenerPath: '', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }] }), {
    message: 'config.json: linux.seccomp.listenerPath: SCMP_ACT_NOTIFY needs a listener socket',
  });
  t.throws(() => compileSeccomp({
    defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['kill'], action: 'SCMP_ACT_ERRNO', args: [{ index: 6, value: 0, op: 'SCMP_CMP_EQ' }] }],
  }), { message: 'config.json: linux.seccomp.syscalls[0].args[0].index: 6 is not a system call argument: expected 0 to 5' });
  t.throws(() => compileSeccomp({
    defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['kill'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 2 ** 60, op: 'SCMP_CMP_EQ' }] }],
  }), { message: /^config\.json: linux\.seccomp\.syscalls\[0\]\.args\[0\]\.value: / });
});

function spec(noNewPrivileges: boolean): Spec {
  return {
    ociVersion: '1.3.0', root: { path: '/r' },
    process: { args: ['true'], cwd: '/', noNewPrivileges },
    linux: { seccomp: { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }] } },
  };
}

t.test('the init loads it once: last with no_new_privs, before the user switch without', async (t) => {
  for (const nnp of [true, false]) {
    const stages = (['before-user', 'final'] as const).filter((stage) => {
      const e = new Emitter(99);
      emitSeccomp(e, spec(nnp), stage, 5);
      return e.p.length > 0;
    });
    t.same(stages, [nnp ? 'final' : 'before-user'], `noNewPrivileges ${nnp}`);
  }
});

t.test('the instruction points at a struct sock_fprog that points at the program', async (t) => {
  const e = new Emitter(99);
  const before = e.p.length;
  emitSeccomp(e, spec(true), 'final', 5);
  t.equal(e.p.length, before + 1);
  const [line] = e.p.describe().slice(before);
  const m = /^seccomp\((\d+), 0, &(\d+)\)$/.exec(line);
  t.ok(m, line);
  t.equal(Number(m![1]), SECCOMP_SET_MODE_FILTER);
  const base = 0x10000n;
  const linked = e.p.link(() => base);
  const at = Number(m![2]);
  const len = linked.arena.readUInt16LE(at);
  const filter = Number(linked.arena.readBigUInt64LE(at + 8) - base);
  const { bpf } = compileSeccomp(spec(true).linux!.seccomp!);
  t.equal(len, bpf.length / 8, 'len counts instructions');
  t.same(linked.arena.subarray(filter, filter + bpf.length), bpf, 'filter is the compiled program');
});

t.test('with a NOTIFY rule the listener fd goes to the runtime, which answers, and is closed', async (t) => {
  const e = new Emitter(99);
  const s = spec(true);
  s.linux!.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', listenerPath: '/s', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }] };
  const before = e.p.length;
  emitSeccomp(e, s, 'final', 5);
  const lines = e.p.describe().slice(before);
  t.match(lines[0], /^%seccomp listener = seccomp\(1, 8, &\d+\)$/);
  t.match(lines.slice(1), ['store seccomp listener', /^write\(5, &\d+, 12\)$/, /^read\(5, &\d+, 1\)$/, 'close(%seccomp listener)']);
});

t.test('features: what runts recognises, and which flags this kernel takes', async (t) => {
  const f = seccompFeatures()!;
  t.equal(f.enabled, true);
  t.ok(f.actions!.includes('SCMP_ACT_NOTIFY'), 'notify');
  t.ok(f.actions!.includes('SCMP_ACT_KILL_PROCESS'));
  t.equal(f.operators!.length, 7);
  t.ok(f.archs!.includes(process.arch === 'arm64' ? 'SCMP_ARCH_AARCH64' : 'SCMP_ARCH_X86_64'), 'the native architecture');
  t.same(f.knownFlags, [
    'SECCOMP_FILTER_FLAG_TSYNC', 'SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW', 'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV',
  ]);
  t.ok(f.supportedFlags!.every((flag) => f.knownFlags!.includes(flag)), 'supported flags are known flags');
  t.ok(f.supportedFlags!.includes('SECCOMP_FILTER_FLAG_TSYNC'), 'TSYNC is as old as seccomp(2)');
});
