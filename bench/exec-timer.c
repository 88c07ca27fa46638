/*
 * exec-timer: runs a command COUNT times, at most JOBS at once, and reports each run's
 * wall time and the peak RSS that wait4() returns for it.
 *
 * The benchmark cannot take either number well from Node itself. A process started from
 * Node is charged Node's own ~45 MiB as its peak RSS: the kernel records the high-water
 * mark of the address space that execve() replaces, and with vfork semantics (what
 * posix_spawn uses) that address space is the parent's, while with fork() it is a copy of
 * it. Started from this small process instead, the recorded peak is the command's own,
 * or this process's (about 1 MiB) if the command stayed smaller than that. Node's spawn
 * path also adds milliseconds of its own; here a run's time is taken right around
 * posix_spawn() and wait4().
 *
 * usage: exec-timer JOBS COUNT PROGRAM [ARG...]
 *   "{}" in an argument is replaced by the run's index, 0 to COUNT-1, so that parallel
 *   runs can name different containers.
 * The command's stdin, stdout and stderr are this process's. Results go to fd 3:
 *   run INDEX START_NS END_NS STATUS MAXRSS_KIB USER_US SYS_US   (one line per run)
 *   span FIRST_START_NS LAST_END_NS
 * STATUS is exit:N, signal:N, or error:ERRNO when posix_spawn() itself failed. Times are
 * CLOCK_MONOTONIC, the clock behind Node's process.hrtime, so they compare with the
 * benchmark's own readings.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Copies of argv with every "{}" replaced by index. */
static char **expand(int argc, char **argv, int index) {
  char idx[16];
  snprintf(idx, sizeof idx, "%d", index);
  char **out = calloc((size_t)argc + 1, sizeof *out);
  if (!out) return NULL;
  for (int i = 0; i < argc; i++) {
    const char *src = argv[i];
    size_t len = strlen(src) + 1;
    for (const char *p = strstr(src, "{}"); p; p = strstr(p + 2, "{}")) len += strlen(idx);
    char *dst = malloc(len);
    if (!dst) return NULL;
    out[i] = dst;
    while (*src) {
      if (src[0] == '{' && src[1] == '}') {
        dst = stpcpy(dst, idx);
        src += 2;
      } else {
        *dst++ = *src++;
      }
    }
    *dst = '\0';
  }
  return out;
}

static void free_argv(char **argv) {
  for (char **p = argv; *p; p++) free(*p);
  free(argv);
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: exec-timer JOBS COUNT PROGRAM [ARG...]\n");
    return 2;
  }
  int jobs = atoi(argv[1]);
  int count = atoi(argv[2]);
  if (jobs < 1 || count < 1) {
    fprintf(stderr, "exec-timer: JOBS and COUNT must be positive\n");
    return 2;
  }
  FILE *results = fdopen(3, "w");
  if (!results) {
    perror("exec-timer: fd 3");
    return 2;
  }
  pid_t *pids = calloc((size_t)count, sizeof *pids);
  long long *starts = calloc((size_t)count, sizeof *starts);
  if (!pids || !starts) return 2;

  long long first_start = 0, last_end = 0;
  int next = 0, running = 0, done = 0;
  while (done < count) {
    while (running < jobs && next < count) {
      char **args = expand(argc - 3, argv + 3, next);
      if (!args) return 2;
      long long start = now_ns();
      if (next == 0) first_start = start;
      int err = posix_spawn(&pids[next], args[0], NULL, NULL, args, environ);
      free_argv(args);
      if (err != 0) {
        long long end = now_ns();
        pids[next] = 0;
        fprintf(results, "run %d %lld %lld error:%d 0 0 0\n", next, start, end, err);
        last_end = end;
        done++;
      } else {
        starts[next] = start;
        running++;
      }
      next++;
    }
    if (running == 0) continue;
    int status;
    struct rusage ru;
    pid_t pid = wait4(-1, &status, 0, &ru);
    long long end = now_ns();
    if (pid < 0) {
      if (errno == EINTR) continue;
      perror("exec-timer: wait4");
      return 2;
    }
    int index = -1;
    for (int i = 0; i < next; i++) {
      if (pids[i] == pid) {
        index = i;
        break;
      }
    }
    if (index < 0) continue;
    pids[index] = 0;
    running--;
    done++;
    last_end = end;
    char what[32];
    if (WIFEXITED(status)) {
      snprintf(what, sizeof what, "exit:%d", WEXITSTATUS(status));
    } else {
      snprintf(what, sizeof what, "signal:%d", WTERMSIG(status));
    }
    fprintf(results, "run %d %lld %lld %s %ld %lld %lld\n", index, starts[index], end, what,
            ru.ru_maxrss,
            (long long)ru.ru_utime.tv_sec * 1000000LL + ru.ru_utime.tv_usec,
            (long long)ru.ru_stime.tv_sec * 1000000LL + ru.ru_stime.tv_usec);
  }
  fprintf(results, "span %lld %lld\n", first_start, last_end);
  return fclose(results) == 0 ? 0 : 2;
}
