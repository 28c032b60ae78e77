/* A worker thread ticks (a nanosleep loop) while the main thread opens a file; if the open
   fails, main says so. Either way it stops the worker, joins it and says whether it ticked;
   it exits 2 when the open failed. For fault injection on a multi-threaded process: both
   threads go on live, and are recorded. */
#include "fixture.h"
#include <pthread.h>
#include <time.h>

static volatile int stop;
static long ticks;

static void *worker(void *arg) {
  (void)arg;
  while (!stop) {
    struct timespec tick = {0, 1000000};
    nanosleep(&tick, NULL);
    ticks++;
  }
  return NULL;
}

int main(int argc, char **argv) {
  check(argc == 2);
  pthread_t thread;
  check(pthread_create(&thread, NULL, worker, NULL) == 0);
  struct timespec wait = {0, 20000000};
  nanosleep(&wait, NULL);
  int fd = open(argv[1], O_RDONLY);
  if (fd < 0) perror("open");
  stop = 1;
  check(pthread_join(thread, NULL) == 0);
  printf("worker ticked %s\n", ticks > 0 ? "yes" : "no");
  return fd < 0 ? 2 : 0;
}
