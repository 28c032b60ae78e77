/* vfork + execl: the child borrows the parent's memory until it execs
 * /bin/echo, which prints a line; the parent then reaps it and prints its
 * status. */
#include "fixture.h"
#include <sys/wait.h>

int main(void) {
  printf("parent: pid %d, vforking\n", (int)getpid());
  check(fflush(stdout) == 0); /* echo writes to the same file: keep the order */
  pid_t child = vfork();
  check(child >= 0);
  if (child == 0) {
    execl("/bin/echo", "echo", "echo ran in the vfork child", (char *)NULL);
    _exit(127); /* only async-signal-safe calls in a vfork child */
  }
  int status;
  check(waitpid(child, &status, 0) == child);
  check(WIFEXITED(status));
  printf("child %d exited with %d\n", (int)child, WEXITSTATUS(status));
  puts("EXIT-SUCCESS");
  return 0;
}
