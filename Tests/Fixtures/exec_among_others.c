/* Execs while other processes make system calls: a busy child calls getppid in a loop
 * (its own memory group, recorded by another tracer thread) while the parent forks and
 * execs /bin/true again and again. The recorder once wrote a successful execve and its exec
 * event one at a time, so the busy child's events could land between them and replay
 * stopped with "the trace has no exec event after a successful execve". */
#include "fixture.h"
#include <sys/wait.h>

int main(void) {
  int go[2];
  check(pipe(go) == 0);
  pid_t busy = fork();
  check(busy >= 0);
  if (busy == 0) {
    close(go[1]);
    char c;
    check(read(go[0], &c, 1) == 1);
    long sum = 0;
    for (int i = 0; i < 20000; i++) sum += getppid() > 0;
    printf("busy child made %ld calls\n", sum);
    return 0;
  }
  close(go[0]);
  check(write(go[1], "g", 1) == 1);
  for (int i = 0; i < 30; i++) {
    pid_t child = fork();
    check(child >= 0);
    if (child == 0) {
      execl("/bin/true", "true", (char *)NULL);
      _exit(127);
    }
    int status;
    check(waitpid(child, &status, 0) == child);
    check(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  printf("30 execs done\n");
  int status;
  check(waitpid(busy, &status, 0) == busy);
  check(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  printf("EXIT-SUCCESS\n");
  return 0;
}
