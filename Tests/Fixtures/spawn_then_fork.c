/* posix_spawn leaves a call of the parent's group in progress (the spawned program runs on);
   a child forked meanwhile must still come after its fork in the trace. */
#include "fixture.h"
#include <spawn.h>
#include <sys/wait.h>

extern char **environ;

int main(void) {
  pid_t sleeper;
  char *argv[] = {"sleep", "0.3", NULL};
  check(posix_spawn(&sleeper, "/bin/sleep", NULL, NULL, argv, environ) == 0);
  usleep(50000);
  pid_t child = fork();
  check(child >= 0);
  if (child == 0) {
    check(write(1, "child\n", 6) == 6);
    _exit(7);
  }
  int status;
  check(waitpid(child, &status, 0) == child);
  printf("child exited %d\n", WEXITSTATUS(status));
  check(waitpid(sleeper, &status, 0) == sleeper);
  printf("sleeper exited %d\n", WEXITSTATUS(status));
  puts("EXIT-SUCCESS");
  return 0;
}
