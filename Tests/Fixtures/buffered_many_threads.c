/* 600 threads one after another, each blocking in a read of a pipe until the main thread
   writes: more threads than the system call buffer has desched counter numbers (512), so
   the numbers of ended threads must come round again (a thread given a live one's number
   used that counter, never heard it, and held the group's turn in its read for ever). */
#include "fixture.h"
#include <pthread.h>

static int p[2];

static void *reader(void *arg) {
  (void)arg;
  char c;
  check(read(p[0], &c, 1) == 1);
  return NULL;
}

int main(void) {
  check(pipe(p) == 0);
  for (int i = 0; i < 600; i++) {
    pthread_t thread;
    check(pthread_create(&thread, NULL, reader, NULL) == 0);
    usleep(100);
    char c = 'x';
    check(write(p[1], &c, 1) == 1);
    check(pthread_join(thread, NULL) == 0);
  }
  printf("600 threads read\n");
  printf("EXIT-SUCCESS\n");
  return 0;
}
