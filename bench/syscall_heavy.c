/* Benchmark: 200,000 small system calls, 100,000 reads of /dev/zero and
 * 100,000 writes to /dev/null, alternating; prints a checksum. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(void) {
  int zero = open("/dev/zero", O_RDONLY), null = open("/dev/null", O_WRONLY);
  if (zero < 0 || null < 0) {
    perror("open");
    return 1;
  }
  unsigned long sum = 0;
  char buf[64];
  for (int i = 0; i < 100000; i++) {
    buf[0] = (char)i;
    if (read(zero, buf, sizeof buf) != sizeof buf || write(null, buf, 16) != 16) {
      perror("read/write");
      return 1;
    }
    sum = sum * 31 + (unsigned char)buf[0] + (unsigned long)i;
  }
  printf("syscall_heavy: %lx\n", sum);
  return 0;
}
