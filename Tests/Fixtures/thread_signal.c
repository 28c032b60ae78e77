/* A signal sent to one specific thread (pthread_kill) while it blocks in a system call: its
   handler runs in that thread, and the interrupted read reports EINTR. */
#include "fixture.h"
#include <pthread.h>
#include <signal.h>

static __thread int whoami;
static volatile sig_atomic_t handledBy;
static int fds[2];

static void on_usr1(int signal) {
  (void)signal;
  handledBy = whoami;
}

static void *reader(void *arg) {
  whoami = (int)(long)arg;
  char c;
  ssize_t n = read(fds[0], &c, 1);
  printf("thread %d: read returned %zd (%s)\n", whoami, n, n < 0 ? strerror(errno) : "data");
  fflush(stdout);
  return NULL;
}

int main(void) {
  struct sigaction action = {0};
  action.sa_handler = on_usr1;  /* no SA_RESTART: the read fails with EINTR */
  check(sigaction(SIGUSR1, &action, NULL) == 0);
  check(pipe(fds) == 0);
  whoami = 1;
  pthread_t threads[2];
  for (long i = 0; i < 2; i++) check(pthread_create(&threads[i], NULL, reader, (void *)(i + 2)) == 0);
  usleep(50000);
  check(pthread_kill(threads[1], SIGUSR1) == 0);
  check(pthread_join(threads[1], NULL) == 0);
  printf("handled by thread %d\n", (int)handledBy);
  check(write(fds[1], "x", 1) == 1);
  check(pthread_join(threads[0], NULL) == 0);
  puts("EXIT-SUCCESS");
  return 0;
}
