/* Measures how long a piece of work takes with CLOCK_MONOTONIC, for fault injection
 * of clocks. A duration below zero (the clock went backwards) is reported on stderr
 * and the exit status is 5; otherwise it prints "took N ms" and EXIT-SUCCESS. */
#include "fixture.h"
#include <time.h>

int main(void) {
  struct timespec start, end;
  check(clock_gettime(CLOCK_MONOTONIC, &start) == 0);
  volatile unsigned long sum = 0;
  for (unsigned long i = 0; i < 1000000; i++) sum += i;
  check(clock_gettime(CLOCK_MONOTONIC, &end) == 0);
  long ms = (end.tv_sec - start.tv_sec) * 1000 + (end.tv_nsec - start.tv_nsec) / 1000000;
  if (ms < 0) {
    fprintf(stderr, "durations: the clock went backwards (%ld ms)\n", ms);
    return 5;
  }
  printf("took %ld ms\n", ms);
  printf("EXIT-SUCCESS\n");
  return 0;
}
