/* A program that tries io_uring first and falls back to read() when io_uring_setup fails,
 * as liburing users do. rewind fails io_uring_setup with ENOSYS while recording (the kernel
 * works the rings outside system calls), so the fallback runs and replays; recording once
 * refused the program outright. */
#include "fixture.h"
#include <sys/syscall.h>

int main(void) {
  unsigned char params[120];
  memset(params, 0, sizeof params);
  long ring = syscall(SYS_io_uring_setup, 8, params);
  int saved = errno;
  printf("io_uring_setup: %s\n", ring >= 0 ? "a ring" : strerror(saved));
  if (ring >= 0) close((int)ring);
  int fd = open("/proc/self/exe", O_RDONLY);
  check(fd >= 0);
  unsigned char magic[4];
  check(read(fd, magic, 4) == 4);  /* the fallback */
  printf("read by the fallback: %02x %c%c%c\n", magic[0], magic[1], magic[2], magic[3]);
  close(fd);
  printf("EXIT-SUCCESS\n");
  return 0;
}
