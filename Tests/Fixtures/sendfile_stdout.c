/* File-to-stdout calls (sendfile, splice) move bytes that never pass through the
   program's memory; replay must still echo them. argv[1] is a scratch directory. */
#include "fixture.h"
#include <sys/sendfile.h>

int main(int argc, char **argv) {
  check(argc > 1);
  char path[4096];
  snprintf(path, sizeof path, "%s/sendfile-%d.txt", argv[1], (int)getpid());
  int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
  check(fd >= 0);
  const char text[] = "line one, sent with sendfile\nline two, spliced\n";
  check(write(fd, text, sizeof text - 1) == (ssize_t)(sizeof text - 1));
  fflush(stdout);
  off_t offset = 0;
  check(sendfile(1, fd, &offset, 29) == 29);
  check(lseek(fd, 29, SEEK_SET) == 29);
  /* splice needs a pipe at one end; stdout is a pipe under the test harness. */
  ssize_t moved = splice(fd, NULL, 1, NULL, sizeof text - 1 - 29, 0);
  if (moved < 0 && errno == EINVAL) {
    /* stdout is not a pipe (a terminal or a file): sendfile from the file position. */
    moved = sendfile(1, fd, NULL, sizeof text - 1 - 29);
  }
  check(moved == (ssize_t)(sizeof text - 1 - 29));
  close(fd);
  unlink(path);
  puts("EXIT-SUCCESS");
  return 0;
}
