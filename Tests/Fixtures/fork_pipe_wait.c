/* A loop of pipe + fork + waitpid: four children, each writes a message to
 * its own pipe and exits with status 10+i; the parent reads each message and
 * reaps each child, so pids, pipe data and wait statuses all replay as
 * recorded. Each child also prints one line of its own (before writing to the
 * pipe, so the order of the output is fixed), which `replay --process` of
 * that child must echo alone. */
#include "fixture.h"
#include <sys/wait.h>

int main(void) {
  for (int i = 0; i < 4; i++) {
    int fds[2];
    check(pipe(fds) == 0);
    check(fflush(stdout) == 0); /* the child must not inherit buffered output */
    pid_t child = fork();
    check(child >= 0);
    if (child == 0) {
      close(fds[0]);
      printf("child %d: pid %d, parent %d, writing to the pipe\n", i, (int)getpid(), (int)getppid());
      check(fflush(stdout) == 0);
      char msg[64];
      int n = snprintf(msg, sizeof msg, "hello from child %d", i);
      check(write(fds[1], msg, n) == n);
      _exit(10 + i);
    }
    close(fds[1]);
    char buf[128];
    size_t got = 0;
    ssize_t n;
    while ((n = read(fds[0], buf + got, sizeof buf - 1 - got)) > 0) got += n;
    check(n == 0);
    buf[got] = '\0';
    close(fds[0]);
    printf("parent read: %s\n", buf);
    int status;
    check(waitpid(child, &status, 0) == child);
    check(WIFEXITED(status));
    printf("child %d (pid %d) exited with %d\n", i, (int)child, WEXITSTATUS(status));
  }
  puts("EXIT-SUCCESS");
  return 0;
}
