/* One thread calls exit(3) (exit_group) while the others block in system calls: the whole
   process ends with 3 and replay ends it the same way. */
#include "fixture.h"
#include <pthread.h>

static int fds[2];

static void *blocker(void *arg) {
  (void)arg;
  char c;
  ssize_t n = read(fds[0], &c, 1);  /* never returns: the process exits first */
  printf("unexpected: read returned %zd\n", n);
  return NULL;
}

static void *quitter(void *arg) {
  (void)arg;
  usleep(20000);
  puts("quitter: exiting the whole process with 3");
  fflush(stdout);
  exit(3);
}

int main(void) {
  check(pipe(fds) == 0);
  pthread_t threads[3];
  for (int i = 0; i < 2; i++) check(pthread_create(&threads[i], NULL, blocker, NULL) == 0);
  check(pthread_create(&threads[2], NULL, quitter, NULL) == 0);
  pause();
  return 0;
}
