/* Many small system calls in a row: N writes to /dev/null and N reads from
 * /dev/zero (N = argv[1], default 2000), then a checksum of what was read. */
#include "fixture.h"

int main(int argc, char **argv) {
  long count = argc > 1 ? atol(argv[1]) : 2000;
  check(count >= 0);
  int null_fd = open("/dev/null", O_WRONLY);
  int zero_fd = open("/dev/zero", O_RDONLY);
  check(null_fd >= 0 && zero_fd >= 0);
  uint64_t sum = 0;
  long written = 0;
  for (long i = 0; i < count; i++) {
    char out[16], in[16];
    int len = snprintf(out, sizeof out, "%ld\n", i);
    ssize_t n = write(null_fd, out, (size_t)len);
    check(n == len);
    written += n;
    memset(in, 0xff, sizeof in);
    check(read(zero_fd, in, sizeof in) == (ssize_t)sizeof in);
    for (size_t j = 0; j < sizeof in; j++) sum = sum * 131 + (unsigned char)in[j] + (uint64_t)i;
  }
  check(close(null_fd) == 0 && close(zero_fd) == 0);
  printf("iterations: %ld written: %ld checksum: %016llx\n", count, written,
         (unsigned long long)sum);
  puts("EXIT-SUCCESS");
  return 0;
}
