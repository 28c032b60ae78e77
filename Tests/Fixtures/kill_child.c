/* Children killed with SIGKILL, one blocked in a system call, one spinning on one: SIGKILL
   leaves no signal-delivery-stop, so replay must kill them where they stand. */
#include "fixture.h"
#include <signal.h>
#include <sys/wait.h>

int main(void) {
  for (int i = 0; i < 4; i++) {
    pid_t child = fork();
    check(child >= 0);
    if (child == 0) {
      if (i % 2) for (;;) getppid();
      pause();
      _exit(0);
    }
    usleep(20000);
    check(kill(child, SIGKILL) == 0);
    int status;
    check(waitpid(child, &status, 0) == child);
    printf("%d: killed by %d\n", i, WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  }
  puts("EXIT-SUCCESS");
  return 0;
}
