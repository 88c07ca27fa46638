/**
 * Messages from the setup processes to the runtime, over a socketpair: fixed records of
 * three int32 (kind, a, b), written whole so a reader never sees half of one.
 */
export const RECORD_BYTES = 12;

/** The intermediate process made a user namespace: the runtime writes its id maps, then answers one byte. */
export const MSG_USERNS = 1;
/** a = the container init's pid, as the runtime sees it. */
export const MSG_PID = 2;
/** Setup is done; init waits for `start`. */
export const MSG_READY = 3;
/**
 * The init has built its mounts and stops before pivot_root: the runtime runs the
 * prestart and createRuntime hooks, fills the in-container hooks' stdin, answers one byte.
 */
export const MSG_HOOKS = 5;
/**
 * The init is in its mount namespace, in a user namespace: the runtime opens the bind
 * sources there and answers one byte carrying their fds (SCM_RIGHTS).
 */
export const MSG_MOUNT_SOURCES = 6;
/**
 * The intermediate process waits to be put in the container's cgroups by a cgroup manager
 * (systemd makes the scope with it inside): the runtime answers one byte once it is there.
 */
export const MSG_CGROUP = 8;
/** The createContainer hooks have run: the rest of the setup has the runtime's bound again. */
export const MSG_HOOKS_DONE = 9;
/** a = index of the failed instruction, b = errno. */
export const MSG_ERROR = 4;
/**
 * The process loaded a seccomp filter with a listener: a = the listener's fd in the
 * process. The runtime takes it (pidfd_getfd), sends it to linux.seccomp.listenerPath and
 * answers one byte.
 */
export const MSG_SECCOMP = 7;
