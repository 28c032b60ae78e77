/* Known calls for `rewind dump` and `rewind stats` to show: a pipe, a write of a known
   string into it, a read back, a failing open, and exit_group(7). */
#include "fixture.h"

int main(void) {
  int fds[2];
  check(pipe(fds) == 0);
  check(write(fds[1], "hello dump\n", 11) == 11);
  char buffer[32];
  check(read(fds[0], buffer, sizeof buffer) == 11);
  check(open("/nonexistent/rewind-dump-subject", O_RDONLY) == -1 && errno == ENOENT);
  close(fds[0]);
  close(fds[1]);
  puts("EXIT-SUCCESS");
  fflush(stdout);
  _exit(7);
}
