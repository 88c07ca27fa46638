import { koffi } from './koffi.js';

/**
 * The libseccomp functions runts compiles seccomp filters with, bound on first use: only a
 * container with linux.seccomp (or `runts features`) loads the library. Functions that
 * return int give a negative errno on failure.
 */
export interface Libseccomp {
  /** A filter context, or null on failure. */
  init: (defaultAction: number) => unknown;
  release: (ctx: unknown) => void;
  archResolveName: (name: string) => number;
  archExist: (ctx: unknown, arch: number) => number;
  archAdd: (ctx: unknown, arch: number) => number;
  syscallResolveName: (name: string) => number;
  /** `conditions` holds `count` struct scmp_arg_cmp of SCMP_ARG_CMP_BYTES each. */
  ruleAddArray: (ctx: unknown, action: number, syscall: number, count: number, conditions: Buffer | null) => number;
  exportBpf: (ctx: unknown, fd: number) => number;
  /** libc's memfd_create: seccomp_export_bpf writes to an fd, and libseccomp 2.5 has no export to memory. */
  memfdCreate: (name: string, flags: number) => number;
}

/** struct scmp_arg_cmp: unsigned int arg, enum op, uint64 datum_a, uint64 datum_b. */
export const SCMP_ARG_CMP_BYTES = 24;

/** libseccomp's __NR_SCMP_ERROR: a syscall name it does not know. */
export const NR_SCMP_ERROR = -1;

let cached: Libseccomp | undefined;

/** Throws when libseccomp.so.2 cannot be loaded. */
export function libseccomp(): Libseccomp {
  if (cached) return cached;
  const lib = koffi().load('libseccomp.so.2');
  const libc = koffi().load('libc.so.6');
  cached = {
    init: lib.func('void *seccomp_init(uint32_t)'),
    release: lib.func('void seccomp_release(void *)'),
    archResolveName: lib.func('uint32_t seccomp_arch_resolve_name(const char *)'),
    archExist: lib.func('int seccomp_arch_exist(void *, uint32_t)'),
    archAdd: lib.func('int seccomp_arch_add(void *, uint32_t)'),
    syscallResolveName: lib.func('int seccomp_syscall_resolve_name(const char *)'),
    ruleAddArray: lib.func('int seccomp_rule_add_array(void *, uint32_t, int, unsigned int, const void *)'),
    exportBpf: lib.func('int seccomp_export_bpf(void *, int)'),
    memfdCreate: libc.func('int memfd_create(const char *, unsigned int)'),
  };
  return cached;
}
