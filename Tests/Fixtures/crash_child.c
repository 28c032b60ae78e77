/* A forked child writes through a NULL pointer and dies of SIGSEGV; the
 * parent reaps it, prints the signal and exits 0. `rewind ps` must show the
 * child with SIGSEGV. */
#include "fixture.h"
#include <sys/wait.h>

int main(void) {
  check(fflush(stdout) == 0);
  pid_t child = fork();
  check(child >= 0);
  if (child == 0) {
    printf("child %d: about to write through a null pointer\n", (int)getpid());
    check(fflush(stdout) == 0);
    volatile int *null = NULL;
    *null = 42;
    _exit(0);
  }
  int status;
  check(waitpid(child, &status, 0) == child);
  check(WIFSIGNALED(status));
  printf("child killed by signal %d\n", WTERMSIG(status));
  puts("EXIT-SUCCESS");
  return 0;
}
