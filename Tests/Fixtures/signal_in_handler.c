/* A child gets SIGUSR1 and then SIGTERM right after it is forked: SIGTERM often lands inside
   the SIGUSR1 handler, between system calls, an asynchronous point replay must reach. */
#include "fixture.h"
#include <signal.h>
#include <sys/wait.h>

static void on_usr1(int signal) {
  (void)signal;
  check(write(1, "H", 1) == 1);
}

int main(void) {
  struct sigaction action = {0};
  action.sa_handler = on_usr1;
  check(sigaction(SIGUSR1, &action, NULL) == 0);
  for (int i = 0; i < 10; i++) {
    fflush(stdout);
    pid_t child = fork();
    check(child >= 0);
    if (child == 0) {
      for (;;) pause();
    }
    check(kill(child, SIGUSR1) == 0);
    check(kill(child, SIGTERM) == 0);
    int status;
    check(waitpid(child, &status, 0) == child);
    printf(" %d: %s\n", i, WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM ? "terminated" : "?");
  }
  puts("EXIT-SUCCESS");
  return 0;
}
