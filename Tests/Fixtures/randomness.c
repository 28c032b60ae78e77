/* Randomness replays as recorded: getrandom, /dev/urandom and the AT_RANDOM
 * bytes the kernel put in the auxiliary vector. */
#include "fixture.h"
#include <sys/auxv.h>
#include <sys/random.h>

int main(void) {
  unsigned char bytes[16];
  check(getrandom(bytes, sizeof bytes, 0) == (ssize_t)sizeof bytes);
  print_hex("getrandom", bytes, sizeof bytes);

  int fd = open("/dev/urandom", O_RDONLY);
  check(fd >= 0);
  check(read(fd, bytes, sizeof bytes) == (ssize_t)sizeof bytes);
  check(close(fd) == 0);
  print_hex("/dev/urandom", bytes, sizeof bytes);

  const unsigned char *at_random = (const unsigned char *)getauxval(AT_RANDOM);
  check(at_random != NULL);
  print_hex("AT_RANDOM", at_random, 16);
  puts("EXIT-SUCCESS");
  return 0;
}
