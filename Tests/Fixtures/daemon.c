/* A daemon that outlives its parent: the parent forks a child and exits 0 at
 * once; the child sleeps 300 ms, writes one line to the file argv[1] and
 * exits 3. `rewind record` must follow the child until it exits, so the file
 * is complete when record returns. */
#include "fixture.h"
#include <time.h>

int main(int argc, char **argv) {
  check(argc == 2);
  check(fflush(stdout) == 0);
  pid_t child = fork();
  check(child >= 0);
  if (child == 0) {
    struct timespec pause = {0, 300 * 1000 * 1000};
    check(nanosleep(&pause, NULL) == 0);
    int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    check(fd >= 0);
    char line[64];
    int n = snprintf(line, sizeof line, "daemon %d was here\n", (int)getpid());
    check(write(fd, line, n) == n);
    check(close(fd) == 0);
    _exit(3);
  }
  printf("parent: started daemon %d, exiting\n", (int)child);
  puts("EXIT-SUCCESS");
  return 0;
}
