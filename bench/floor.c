/*
 * What this machine allows at best, with no Erlang and no IPC: the floor
 * under the spawn and fork figures of bench-compare and bench-peers.
 *
 *   cc -O2 -o _build/bench/floor bench/floor.c && _build/bench/floor [N]
 *
 * Each figure is N cycles (default 2000) in a loop, as operations per
 * second:
 *
 *   fork+exit          fork(2), the child _exit(0)s, waitpid(2)
 *   fork+exec true     fork(2), the child execs /bin/true, waitpid(2)
 *   posix_spawn true   posix_spawn(3) of /bin/true (vfork-like), waitpid(2)
 *   ... leaf made      the same, the child first writing itself into a
 *                      cgroup v2 directory made for it (mkdir before,
 *                      rmdir after): what a teardown leaf per spawn costs
 *   ... leaf reused    into one directory kept from cycle to cycle
 *
 * The cgroup rows need a writable cgroup v2 tree (as root); the
 * directories go under the cgroup this process is in.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

enum leaf { NO_LEAF, LEAF_MADE, LEAF_REUSED };

static double seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The cgroup v2 directory this process is in, or 0 if none is known. */
static int own_cgroup(char *dir, size_t len) {
  char line[4096], mount[1024] = "";
  FILE *f = fopen("/proc/self/mountinfo", "r");
  if (f == NULL)
    return 0;
  while (fgets(line, sizeof(line), f) != NULL) {
    char *sep = strstr(line, " - cgroup2 ");
    char point[1024];
    if (sep != NULL && sscanf(line, "%*s %*s %*s %*s %1023s", point) == 1) {
      snprintf(mount, sizeof(mount), "%s", point);
      break;
    }
  }
  fclose(f);
  f = fopen("/proc/self/cgroup", "r");
  if (f == NULL || mount[0] == '\0') {
    if (f != NULL)
      fclose(f);
    return 0;
  }
  int found = 0;
  while (fgets(line, sizeof(line), f) != NULL) {
    if (strncmp(line, "0::", 3) == 0) {
      line[strcspn(line, "\n")] = '\0';
      snprintf(dir, len, "%s%s", mount, line + 3);
      found = 1;
    }
  }
  fclose(f);
  return found;
}

static void wait_for(pid_t pid) {
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ;
}

/* One cycle: start a child (exiting at once, or running /bin/true),
 * in a leaf or not, and reap it. */
static int cycle(int exec_it, int spawn_it, enum leaf leaf, const char *base,
                 int i) {
  char *argv[] = {"/bin/true", NULL};
  char dir[4096], procs[4200];
  int fd = -1;
  if (leaf != NO_LEAF) {
    if (leaf == LEAF_MADE)
      snprintf(dir, sizeof(dir), "%s/c%d", base, i);
    else
      snprintf(dir, sizeof(dir), "%s/kept", base);
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
      return -1;
    snprintf(procs, sizeof(procs), "%s/cgroup.procs", dir);
    fd = open(procs, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
      return -1;
  }
  pid_t pid;
  if (spawn_it) {
    if (posix_spawn(&pid, argv[0], NULL, NULL, argv, environ) != 0)
      return -1;
  } else {
    pid = fork();
    if (pid < 0)
      return -1;
    if (pid == 0) {
      if (fd >= 0 && write(fd, "0", 1) != 1)
        _exit(126);
      if (exec_it)
        execv(argv[0], argv);
      _exit(exec_it ? 127 : 0);
    }
  }
  if (fd >= 0)
    close(fd);
  wait_for(pid);
  if (leaf == LEAF_MADE)
    rmdir(dir);
  return 0;
}

static void figure(const char *name, int n, int exec_it, int spawn_it,
                   enum leaf leaf, const char *base) {
  double t0 = seconds();
  for (int i = 0; i < n; i++) {
    if (cycle(exec_it, spawn_it, leaf, base, i) < 0) {
      printf("%-34s failed: %s\n", name, strerror(errno));
      return;
    }
  }
  double t = seconds() - t0;
  printf("%-34s %8.0f /s  %7.1f us each\n", name, n / t, t / n * 1e6);
}

int main(int argc, char *argv[]) {
  int n = argc > 1 ? atoi(argv[1]) : 2000;
  if (n <= 0) {
    fprintf(stderr, "usage: %s [cycles]\n", argv[0]);
    return 2;
  }
  figure("fork+exit", n, 0, 0, NO_LEAF, NULL);
  figure("fork+exec true", n, 1, 0, NO_LEAF, NULL);
  figure("posix_spawn true", n, 1, 1, NO_LEAF, NULL);
  char own[4096], base[4200];
  if (!own_cgroup(own, sizeof(own))) {
    printf("(no cgroup v2 tree: leaf rows skipped)\n");
    return 0;
  }
  snprintf(base, sizeof(base), "%s/floor.%d", own, (int)getpid());
  if (mkdir(base, 0755) < 0) {
    printf("(cannot make %s: %s: leaf rows skipped)\n", base, strerror(errno));
    return 0;
  }
  figure("fork+exec true, leaf made", n, 1, 0, LEAF_MADE, base);
  figure("fork+exec true, leaf reused", n, 1, 0, LEAF_REUSED, base);
  char kept[4300];
  snprintf(kept, sizeof(kept), "%s/kept", base);
  rmdir(kept);
  rmdir(base);
  return 0;
}
