/* Blocking calls through the system call buffer: a thread and the main thread play
   ping-pong over two pipes (each read blocks until the other thread writes: with the
   group's turn held by the reader, that would never come), then a forked child does the
   same with its parent. Prints the bytes' checksum of each exchange. */
#include "fixture.h"
#include <pthread.h>
#include <sys/wait.h>

enum { rounds = 2000 };
static int there[2], back[2];

/* Reads one byte from `from`, writes it + 1 to `to`, `rounds` times. */
static void *echo(void *arg) {
  (void)arg;
  for (int i = 0; i < rounds; i++) {
    unsigned char c;
    check(read(there[0], &c, 1) == 1);
    c++;
    check(write(back[1], &c, 1) == 1);
  }
  return NULL;
}

static unsigned long serve(void) {
  unsigned long sum = 0;
  for (int i = 0; i < rounds; i++) {
    unsigned char c = (unsigned char)i, d;
    check(write(there[1], &c, 1) == 1);
    check(read(back[0], &d, 1) == 1);
    sum = sum * 31 + d;
  }
  return sum;
}

int main(void) {
  check(pipe(there) == 0 && pipe(back) == 0);
  pthread_t thread;
  check(pthread_create(&thread, NULL, echo, NULL) == 0);
  unsigned long threads = serve();
  check(pthread_join(thread, NULL) == 0);
  pid_t child = fork();
  check(child >= 0);
  if (child == 0) {
    echo(NULL);
    _exit(0);
  }
  unsigned long processes = serve();
  int status;
  check(waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0);
  printf("threads %lx processes %lx\n", threads, processes);
  printf("EXIT-SUCCESS\n");
  return 0;
}
