/* Parent and child increment a counter in shared memory without a lock, printing what they
   saw now and then. The values depend on how their user-space slices interleaved, so they
   replay only if recording serialized the two and the trace kept the order. */
#include "fixture.h"
#include <sys/wait.h>

int main(void) {
  volatile long *counter = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  check(counter != MAP_FAILED);
  *counter = 0;
  pid_t child = fork();
  check(child >= 0);
  for (int i = 0; i < 300; i++) {
    long seen = *counter;
    *counter = seen + 1;
    if (i % 30 == 0) {
      printf("%s saw %ld\n", child ? "parent" : "child", seen);
      fflush(stdout);
    }
    getppid();
  }
  if (child == 0) _exit(0);
  check(waitpid(child, NULL, 0) == child);
  printf("final %ld\n", *counter);
  puts("EXIT-SUCCESS");
  return 0;
}
