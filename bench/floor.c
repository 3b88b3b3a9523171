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
 *   ... leaf cloned    started in that kept directory by clone3(2) with
 *                      CLONE_INTO_CGROUP (no write; as alcove spawns)
 *
 * The cgroup rows need a writable cgroup v2 tree (as root); the
 * directories go under the cgroup this process is in.
 *
 * With `terms ROUND FILE` it instead measures, in the same shape as
 * bench-compare's figures (which run it as the target `floor`, round by
 * round with the builds), what any implementation of each figure can at
 * best do here, and appends them to FILE as Erlang terms:
 *
 *   rt_root            a 24-byte request and answer between two processes
 *                      over a socket pair (us a round trip)
 *   rt_relayed         the same answer read by a second thread that hands
 *                      it to the caller (eventfd): the shape of a call
 *                      through a NIF's I/O thread
 *   fork_exit          fork + _exit + waitpid
 *   stdout_256m        head -c 256MiB /dev/zero into a pipe, read 64 KiB at
 *                      a time (MB/s)
 *   cat_echo_64m       64 MiB through cat, 32 KiB writes, at most 2 MiB
 *                      outstanding, as the benchmark's echo
 *
 * (the pipes of these two grown to 1 MiB, as alcove grows a streaming
 * program's)
 *   conc_drv_per_caller 8 threads, each doing round trips with a process
 *                      of its own (calls/s)
 *
 * and two figures done in the shape a driver must give them, its threads
 * blocking where they wait (not a bound: a VM's schedulers spin first):
 *
 *   fork_exit_shaped   a fork request to a helper process, which makes a
 *                      child with three stdio pipes and a control socket
 *                      and answers; an exit request, passed to the child
 *                      over that socket; the helper reaps it and answers
 *                      with its status. Answers are read by a second
 *                      thread and handed to the caller, as in rt_relayed.
 *   conc_relayed       conc_drv_per_caller with every answer read by one
 *                      thread (epoll) and handed to its caller (eventfd)
 *   cat_echo_64m_shaped cat_echo_64m with stdout read by a second thread
 *                      that hands each read over (eventfd), the writing
 *                      thread waiting while the pipe is full
 *
 * With `peers ROUND FILE`, bench-peers' figures: posix_spawn of /bin/true
 * and its wait (spawn_true), the child started in a kept cgroup v2 leaf
 * (spawn_true_leaf, clone3 into it, as alcove spawns; left out without
 * a writable tree), stdout_256m and cat_echo_64m as above; and the same
 * spawns one every 100 ms, the median microseconds of one of 15
 * (spawn_sparse, spawn_sparse_leaf), with spawn_sparse_leaf_write: the
 * child writing itself into the leaf's cgroup.procs, which waits for an
 * RCU grace period when none has passed for a while.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sched.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

enum leaf { NO_LEAF, LEAF_MADE, LEAF_REUSED, LEAF_CLONED };

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
    fd = leaf == LEAF_CLONED ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                             : open(procs, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
      return -1;
  }
  pid_t pid;
  if (leaf == LEAF_CLONED) {
    struct clone_args args;
    memset(&args, 0, sizeof(args));
    args.flags = CLONE_INTO_CGROUP;
    args.exit_signal = SIGCHLD;
    args.cgroup = (uint64_t)fd;
    pid = (pid_t)syscall(SYS_clone3, &args, sizeof(args));
    if (pid < 0)
      return -1;
    if (pid == 0) {
      if (exec_it)
        execv(argv[0], argv);
      _exit(exec_it ? 127 : 0);
    }
  } else if (spawn_it) {
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

/* ---- the floor under bench-compare's figures ---- */

#define FRAME 24

static int full_read(int fd, char *buf, size_t len) {
  size_t got = 0;
  while (got < len) {
    ssize_t n = read(fd, buf + got, len - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return -1;
    got += (size_t)n;
  }
  return 0;
}

/* A process answering every FRAME bytes read on fd with FRAME bytes,
 * until EOF. */
static pid_t answerer(int sv[2]) {
  pid_t pid = fork();
  if (pid == 0) {
    char buf[FRAME];
    /* Only its own end: a sibling's inherited end would keep that
     * sibling from seeing EOF. */
    for (int fd = 3; fd < 1024; fd++)
      if (fd != sv[1])
        close(fd);
    while (full_read(sv[1], buf, FRAME) == 0)
      if (write(sv[1], buf, FRAME) != FRAME)
        _exit(1);
    _exit(0);
  }
  close(sv[1]);
  return pid;
}

static double rt_root(int n) {
  int sv[2];
  char buf[FRAME] = {0};
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
    return -1;
  pid_t pid = answerer(sv);
  double t0 = seconds();
  for (int i = 0; i < n; i++)
    if (write(sv[0], buf, FRAME) != FRAME || full_read(sv[0], buf, FRAME) < 0)
      return -1;
  double t = seconds() - t0;
  close(sv[0]);
  wait_for(pid);
  return t / n * 1e6;
}

struct relay {
  int sock, efd;
};

static void *relay_thread(void *arg) {
  struct relay *r = arg;
  char buf[FRAME];
  uint64_t one = 1;
  while (full_read(r->sock, buf, FRAME) == 0)
    if (write(r->efd, &one, sizeof(one)) != sizeof(one))
      break;
  return NULL;
}

/* Seconds for n rounds of the requests in ops (their 4 first bytes) to
 * the process start() makes, each answer read by a relay thread and
 * handed to this one: the shape of a call through a NIF's I/O thread. */
static double relayed(pid_t (*start)(int sv[2]), int n, const int32_t *ops, int nops) {
  int sv[2];
  char buf[FRAME] = {0};
  uint64_t v;
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
    return -1;
  pid_t pid = start(sv);
  struct relay r = {sv[0], eventfd(0, 0)};
  pthread_t th;
  pthread_create(&th, NULL, relay_thread, &r);
  double t0 = seconds();
  for (int i = 0; i < n; i++)
    for (int k = 0; k < nops; k++) {
      memcpy(buf, &ops[k], sizeof(ops[k]));
      if (write(sv[0], buf, FRAME) != FRAME || read(r.efd, &v, sizeof(v)) != sizeof(v))
        return -1;
    }
  double t = seconds() - t0;
  shutdown(sv[0], SHUT_WR);
  pthread_join(th, NULL);
  close(sv[0]);
  close(r.efd);
  wait_for(pid);
  return t;
}

static double rt_relayed(int n) {
  static const int32_t op = 0;
  double t = relayed(answerer, n, &op, 1);
  return t < 0 ? -1 : t / n * 1e6;
}

/* ---- the same figures in the shape of a driver (a NIF relaying answers
 * through an I/O thread) talking to a helper process ---- */

enum { OP_FORK = 1, OP_EXIT = 2 };

/* A helper process: a fork request makes a child with three stdio pipes
 * and a control socket (what every child of an alcove helper has) and
 * answers its pid; an exit request goes to that child over its control
 * socket, which _exits; the helper reaps it, reads its pipes' EOF and
 * answers with its status (the exit event). It blocks where a real
 * helper has to poll: a bound below any implementation. */
static pid_t fork_helper(int sv[2]) {
  pid_t pid = fork();
  if (pid != 0) {
    close(sv[1]);
    return pid;
  }
  for (int fd = 3; fd < 1024; fd++)
    if (fd != sv[1])
      close(fd);
  char buf[FRAME] = {0};
  int in[2], out[2], err[2], ctl[2];
  pid_t child = -1;
  while (full_read(sv[1], buf, FRAME) == 0) {
    int32_t op;
    memcpy(&op, buf, sizeof(op));
    if (op == OP_FORK) {
      if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0 ||
          socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ctl) < 0)
        _exit(1);
      child = fork();
      if (child == 0) {
        char b;
        dup2(in[0], 0);
        dup2(out[1], 1);
        dup2(err[1], 2);
        close(sv[1]);
        close(in[1]);
        close(out[0]);
        close(err[0]);
        close(ctl[0]);
        _exit(read(ctl[1], &b, 1) == 1 ? 0 : 1);
      }
      close(in[0]);
      close(out[1]);
      close(err[1]);
      close(ctl[1]);
      memcpy(buf + sizeof(op), &child, sizeof(child));
    } else {
      int status = -1;
      char b;
      if (write(ctl[0], "x", 1) != 1)
        _exit(1);
      while (waitpid(child, &status, 0) < 0 && errno == EINTR)
        ;
      if (read(out[0], &b, 1) != 0 || read(err[0], &b, 1) != 0)
        _exit(1);
      close(in[1]);
      close(out[0]);
      close(err[0]);
      close(ctl[0]);
      memcpy(buf + sizeof(op), &status, sizeof(status));
    }
    if (write(sv[1], buf, FRAME) != FRAME)
      _exit(1);
  }
  _exit(0);
}

/* fork + exit + exit event in that shape: two requests through the
 * helper, answers through a relay thread. */
static double fork_exit_shaped(int n) {
  static const int32_t ops[] = {OP_FORK, OP_EXIT};
  double t = relayed(fork_helper, n, ops, 2);
  return t < 0 ? -1 : n / t;
}

static double fork_exit_rate(int n) {
  double t0 = seconds();
  for (int i = 0; i < n; i++)
    if (cycle(0, 0, NO_LEAF, NULL, i) < 0)
      return -1;
  return n / (seconds() - t0);
}

/* A pipe grown to 1 MiB, as alcove grows a streaming program's pipes
 * (left as it is if the kernel refuses). */
static int grown_pipe(int p[2]) {
  if (pipe(p) < 0)
    return -1;
  fcntl(p[0], F_SETPIPE_SZ, 1 << 20);
  return 0;
}

/* A child running argv with stdin from in_fd (or /dev/null when < 0) and
 * stdout to out_fd. */
static pid_t run_with(char *const argv[], int in_fd, int out_fd) {
  pid_t pid = fork();
  if (pid == 0) {
    if (in_fd >= 0)
      dup2(in_fd, 0);
    dup2(out_fd, 1);
    for (int fd = 3; fd < 64; fd++)
      close(fd);
    execv(argv[0], argv);
    _exit(127);
  }
  return pid;
}

static double stdout_rate(long long bytes) {
  int p[2];
  static char buf[65536];
  char count[32];
  snprintf(count, sizeof(count), "%lld", bytes);
  char *argv[] = {"/usr/bin/head", "-c", count, "/dev/zero", NULL};
  if (grown_pipe(p) < 0)
    return -1;
  double t0 = seconds();
  pid_t pid = run_with(argv, -1, p[1]);
  close(p[1]);
  long long got = 0;
  ssize_t n;
  while ((n = read(p[0], buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
    if (n > 0)
      got += n;
  double t = seconds() - t0;
  close(p[0]);
  wait_for(pid);
  return got == bytes ? bytes / t / 1e6 : -1;
}

/* cat with its stdin from in[1] and its stdout to out[0] (grown pipes;
 * the ends it has are closed here); its pid, or -1. */
static pid_t start_cat(int in[2], int out[2]) {
  char *argv[] = {"/bin/cat", NULL};
  if (grown_pipe(in) < 0 || grown_pipe(out) < 0)
    return -1;
  pid_t pid = run_with(argv, in[0], out[1]);
  close(in[0]);
  close(out[1]);
  return pid;
}

static double echo_rate(long long bytes) {
  int in[2], out[2];
  static char chunk[32768], buf[65536];
  double t0 = seconds();
  pid_t pid = start_cat(in, out);
  if (pid < 0)
    return -1;
  fcntl(in[1], F_SETFL, O_NONBLOCK);
  long long sent = 0, got = 0;
  size_t part = 0; /* bytes of the current chunk written */
  while (got < bytes) {
    int can_send = sent < bytes && sent - got + (long long)sizeof(chunk) <= 2 << 20;
    struct pollfd fds[2] = {{out[0], POLLIN, 0}, {in[1], can_send ? POLLOUT : 0, 0}};
    if (poll(fds, 2, -1) < 0 && errno != EINTR)
      return -1;
    if (fds[1].revents & POLLOUT) {
      ssize_t n = write(in[1], chunk + part, sizeof(chunk) - part);
      if (n > 0 && (part += (size_t)n) == sizeof(chunk)) {
        sent += sizeof(chunk);
        part = 0;
      }
    }
    if (fds[0].revents & (POLLIN | POLLHUP)) {
      ssize_t n = read(out[0], buf, sizeof(buf));
      if (n == 0)
        return -1;
      if (n > 0)
        got += n;
    }
  }
  double t = seconds() - t0;
  close(in[1]);
  close(out[0]);
  wait_for(pid);
  return bytes / t / 1e6;
}

/* What the output thread of echo_shaped reads: it adds each read's size
 * to an eventfd's counter, which the writing thread reads. */
struct echo_reader {
  int fd, efd;
};

static void *echo_reader_thread(void *arg) {
  struct echo_reader *r = arg;
  static char buf[65536];
  ssize_t n;
  while ((n = read(r->fd, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR)) {
    uint64_t v = (uint64_t)n;
    if (n > 0 && write(r->efd, &v, sizeof(v)) != sizeof(v))
      break;
  }
  return NULL;
}

/* echo_rate in a driver's shape: this thread writes cat's stdin (waiting
 * while the pipe is full) and a second one reads its stdout and hands
 * each read over, as an output thread sends each read as a message. */
static double echo_shaped(long long bytes) {
  int in[2], out[2];
  static char chunk[32768];
  double t0 = seconds();
  pid_t pid = start_cat(in, out);
  if (pid < 0)
    return -1;
  struct echo_reader r = {out[0], eventfd(0, 0)};
  pthread_t th;
  pthread_create(&th, NULL, echo_reader_thread, &r);
  long long sent = 0, got = 0;
  while (got < bytes) {
    while (sent < bytes && sent - got + (long long)sizeof(chunk) <= 2 << 20) {
      for (size_t part = 0; part < sizeof(chunk);) {
        ssize_t n = write(in[1], chunk + part, sizeof(chunk) - part);
        if (n < 0 && errno != EINTR)
          return -1;
        if (n > 0)
          part += (size_t)n;
      }
      sent += sizeof(chunk);
    }
    uint64_t v;
    if (read(r.efd, &v, sizeof(v)) != sizeof(v))
      return -1;
    got += (long long)v;
  }
  double t = seconds() - t0;
  close(in[1]);
  pthread_join(th, NULL);
  close(out[0]);
  close(r.efd);
  wait_for(pid);
  return bytes / t / 1e6;
}

struct caller {
  int sock, n;
};

static void *caller_thread(void *arg) {
  struct caller *c = arg;
  char buf[FRAME] = {0};
  for (int i = 0; i < c->n; i++)
    if (write(c->sock, buf, FRAME) != FRAME || full_read(c->sock, buf, FRAME) < 0)
      break;
  return NULL;
}

static double concurrent_rate(int callers, int n) {
  struct caller c[callers];
  pthread_t th[callers];
  pid_t pid[callers];
  for (int i = 0; i < callers; i++) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
      return -1;
    pid[i] = answerer(sv);
    c[i].sock = sv[0];
    c[i].n = n;
  }
  double t0 = seconds();
  for (int i = 0; i < callers; i++)
    pthread_create(&th[i], NULL, caller_thread, &c[i]);
  for (int i = 0; i < callers; i++)
    pthread_join(th[i], NULL);
  double t = seconds() - t0;
  for (int i = 0; i < callers; i++) {
    close(c[i].sock);
    wait_for(pid[i]);
  }
  return (double)callers * n / t;
}

/* 8 callers, each with a process of its own, the answers read by one
 * relay thread (epoll) that hands each to its caller: the shape of
 * callers on their own Drvs behind one NIF I/O thread. */
struct conc_relay {
  int epfd, stop;
  int *socks, *efds;
};

static void *conc_relay_thread(void *arg) {
  struct conc_relay *r = arg;
  char buf[FRAME];
  uint64_t one = 1;
  for (;;) {
    struct epoll_event ev[16];
    int k = epoll_wait(r->epfd, ev, 16, -1);
    if (k < 0 && errno == EINTR)
      continue;
    if (k < 0)
      return NULL;
    for (int j = 0; j < k; j++) {
      int i = (int)ev[j].data.u32;
      if (i < 0 || r->socks[i] == r->stop)
        return NULL;
      if (full_read(r->socks[i], buf, FRAME) < 0 ||
          write(r->efds[i], &one, sizeof(one)) != sizeof(one))
        return NULL;
    }
  }
}

struct rcaller {
  int sock, efd, n;
};

static void *rcaller_thread(void *arg) {
  struct rcaller *c = arg;
  char buf[FRAME] = {0};
  uint64_t v;
  for (int i = 0; i < c->n; i++)
    if (write(c->sock, buf, FRAME) != FRAME || read(c->efd, &v, sizeof(v)) != sizeof(v))
      break;
  return NULL;
}

static double concurrent_relayed(int callers, int n) {
  struct rcaller c[callers];
  pthread_t th[callers], relay;
  pid_t pid[callers];
  int socks[callers + 1], efds[callers];
  struct conc_relay r = {epoll_create1(EPOLL_CLOEXEC), eventfd(0, 0), socks, efds};
  if (r.epfd < 0 || r.stop < 0)
    return -1;
  for (int i = 0; i <= callers; i++) {
    int sv[2];
    if (i < callers) {
      if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        return -1;
      pid[i] = answerer(sv);
      socks[i] = sv[0];
      efds[i] = eventfd(0, 0);
      c[i] = (struct rcaller){sv[0], efds[i], n};
    } else {
      socks[i] = r.stop;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
    if (epoll_ctl(r.epfd, EPOLL_CTL_ADD, socks[i], &ev) < 0)
      return -1;
  }
  pthread_create(&relay, NULL, conc_relay_thread, &r);
  double t0 = seconds();
  for (int i = 0; i < callers; i++)
    pthread_create(&th[i], NULL, rcaller_thread, &c[i]);
  for (int i = 0; i < callers; i++)
    pthread_join(th[i], NULL);
  double t = seconds() - t0;
  uint64_t one = 1;
  if (write(r.stop, &one, sizeof(one)) != sizeof(one))
    return -1;
  pthread_join(relay, NULL);
  for (int i = 0; i < callers; i++) {
    close(socks[i]);
    close(efds[i]);
    wait_for(pid[i]);
  }
  close(r.stop);
  close(r.epfd);
  return (double)callers * n / t;
}

struct fig {
  const char *name;
  double value;
  const char *unit, *better;
};

/* Append figures to FILE as Erlang terms of target `floor`. */
static int emit(int round, const char *file, const struct fig *figs, size_t n) {
  FILE *f = fopen(file, "a");
  if (f == NULL) {
    perror(file);
    return 1;
  }
  for (size_t i = 0; i < n; i++) {
    if (figs[i].value < 0) {
      fprintf(stderr, "floor: %s failed: %s\n", figs[i].name, strerror(errno));
      fclose(f);
      return 1;
    }
    fprintf(f, "{floor,%d,%s,%f,\"%s\",%s}.\n", round, figs[i].name, figs[i].value,
            figs[i].unit, figs[i].better);
    printf("  %-10s %-30s %14.2f %s\n", "floor", figs[i].name, figs[i].value, figs[i].unit);
  }
  fclose(f);
  return 0;
}

static int terms(int round, const char *file) {
  struct fig figs[] = {
      {"rt_root", rt_root(20000), "us/call", "lower"},
      {"rt_relayed", rt_relayed(20000), "us/call", "lower"},
      {"fork_exit", fork_exit_rate(2000), "cycles/s", "higher"},
      {"stdout_256m", stdout_rate(256LL << 20), "MB/s", "higher"},
      {"cat_echo_64m", echo_rate(64LL << 20), "MB/s", "higher"},
      {"conc_drv_per_caller", concurrent_rate(8, 5000), "calls/s", "higher"},
      {"fork_exit_shaped", fork_exit_shaped(2000), "cycles/s", "higher"},
      {"conc_relayed", concurrent_relayed(8, 5000), "calls/s", "higher"},
      {"cat_echo_64m_shaped", echo_shaped(64LL << 20), "MB/s", "higher"},
  };
  return emit(round, file, figs, sizeof(figs) / sizeof(figs[0]));
}

/* Spawns of /bin/true a second, waiting for each: posix_spawn, or fork
 * + exec with the child entering a kept cgroup leaf under BASE. */
static double spawn_rate(int n, enum leaf leaf, const char *base) {
  double t0 = seconds();
  for (int i = 0; i < n; i++)
    if (cycle(1, leaf == NO_LEAF, leaf, base, i) < 0)
      return -1;
  return n / (seconds() - t0);
}

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* The median microseconds of one spawn of /bin/true (and its wait) of
 * SPARSE_N, one every 100 ms: a program started now and then. */
#define SPARSE_N 15
static double sparse_us(enum leaf leaf, const char *base) {
  double t[SPARSE_N];
  for (int i = 0; i < SPARSE_N; i++) {
    usleep(100000);
    double t0 = seconds();
    if (cycle(1, leaf == NO_LEAF, leaf, base, i) < 0)
      return -1;
    t[i] = (seconds() - t0) * 1e6;
  }
  qsort(t, SPARSE_N, sizeof(t[0]), by_value);
  return t[SPARSE_N / 2];
}

/* bench-peers' figures: spawning /bin/true (and into a kept cgroup leaf,
 * as alcove spawns, when this process may make one), stdout, echo. */
static int peers_terms(int round, const char *file) {
  char own[4096], base[4200], kept[4300];
  struct fig figs[8];
  size_t n = 0;
  figs[n++] = (struct fig){"spawn_true", spawn_rate(400, NO_LEAF, NULL), "spawns/s", "higher"};
  figs[n++] = (struct fig){"spawn_sparse", sparse_us(NO_LEAF, NULL), "us/spawn", "lower"};
  /* Without a writable cgroup v2 tree the leaf rows are left out. */
  if (own_cgroup(own, sizeof(own))) {
    snprintf(base, sizeof(base), "%s/floor.%d", own, (int)getpid());
    if (mkdir(base, 0755) == 0) {
      figs[n++] = (struct fig){"spawn_true_leaf", spawn_rate(400, LEAF_CLONED, base), "spawns/s",
                               "higher"};
      figs[n++] = (struct fig){"spawn_sparse_leaf", sparse_us(LEAF_CLONED, base), "us/spawn",
                               "lower"};
      figs[n++] = (struct fig){"spawn_sparse_leaf_write", sparse_us(LEAF_REUSED, base),
                               "us/spawn", "lower"};
      snprintf(kept, sizeof(kept), "%s/kept", base);
      rmdir(kept);
      rmdir(base);
    }
  }
  figs[n++] = (struct fig){"stdout_256m", stdout_rate(256LL << 20), "MB/s", "higher"};
  figs[n++] = (struct fig){"cat_echo_64m", echo_rate(64LL << 20), "MB/s", "higher"};
  return emit(round, file, figs, n);
}

int main(int argc, char *argv[]) {
  signal(SIGPIPE, SIG_IGN);
  if (argc == 4 && strcmp(argv[1], "terms") == 0)
    return terms(atoi(argv[2]), argv[3]);
  if (argc == 4 && strcmp(argv[1], "peers") == 0)
    return peers_terms(atoi(argv[2]), argv[3]);
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
  figure("clone3 + exec true, leaf cloned", n, 1, 0, LEAF_CLONED, base);
  char kept[4300];
  snprintf(kept, sizeof(kept), "%s/kept", base);
  rmdir(kept);
  rmdir(base);
  return 0;
}
