/* A process with three threads execs: the kernel kills the other threads and runs the new
 * program in the same process. With an argument "thread", a non-main thread calls exec (the
 * kernel then gives it the process's pid). The new program is this one again with "done". */
#include "fixture.h"
#include <pthread.h>
#include <sys/syscall.h>

static char *self;
static const char *mode;

static void *worker(void *arg) {
  (void)arg;
  for (;;) {
    syscall(SYS_getppid);
    usleep(1000);
  }
  return NULL;
}

static void *execer(void *arg) {
  (void)arg;
  usleep(5000);
  execl(self, self, "done", mode, (char *)NULL);
  check(!"exec failed");
  return NULL;
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "done") == 0) {
    printf("after exec from the %s thread: pid %s, tid equals pid %d\n", argv[2],
           getpid() > 0 ? "set" : "unset", (long)getpid() == syscall(SYS_gettid));
    printf("EXIT-SUCCESS\n");
    return 0;
  }
  self = argv[0];
  mode = argc > 1 && strcmp(argv[1], "thread") == 0 ? "other" : "main";
  /* A failing exec first: the other threads must go on after it. */
  pthread_t threads[3];
  for (int i = 0; i < 2; i++) check(pthread_create(&threads[i], NULL, worker, NULL) == 0);
  usleep(3000);
  check(execl("/nonexistent/program", "x", (char *)NULL) == -1 && errno == ENOENT);
  printf("a failed exec leaves the threads running\n");
  fflush(stdout);
  if (strcmp(mode, "other") == 0) {
    check(pthread_create(&threads[2], NULL, execer, NULL) == 0);
    for (;;) pause();
  }
  usleep(5000);
  execl(self, self, "done", mode, (char *)NULL);
  check(!"exec failed");
  return 1;
}
