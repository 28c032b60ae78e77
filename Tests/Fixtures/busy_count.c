/* busy_count: a loop with no system call (argv[1] iterations, default 10^9: about a
 * second), then the count. The ^C test interrupts its replay in the middle of the loop. */
#include "fixture.h"

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 1000000000L;
  volatile long count = 0;
  for (long i = 0; i < n; i++) count++;
  printf("count=%ld\n", count);
  puts("EXIT-SUCCESS");
  return 0;
}
