/* A signal sent to a child right after fork reaches it while rewind moves it to a tracer
   thread of its own: its handler must run (recorded), not be lost or run untraced. */
#include "fixture.h"
#include <signal.h>
#include <sys/wait.h>

static volatile sig_atomic_t received;
static void on_usr1(int signal) {
  (void)signal;
  received++;
  check(write(1, "H", 1) == 1);
}

int main(void) {
  struct sigaction action = {0};
  action.sa_handler = on_usr1;
  check(sigaction(SIGUSR1, &action, NULL) == 0);
  for (int i = 0; i < 8; i++) {
    pid_t child = fork();
    check(child >= 0);
    if (child == 0) {
      while (!received) pause();
      check(write(1, "c\n", 2) == 2);
      _exit(received);
    }
    check(kill(child, SIGUSR1) == 0);
    int status;
    check(waitpid(child, &status, 0) == child);
    printf("%d: child exited %d\n", i, WEXITSTATUS(status));
    fflush(stdout);
  }
  puts("EXIT-SUCCESS");
  return 0;
}
