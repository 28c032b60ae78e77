/* Benchmark: about half a second of pure computation (at -O2 here) between a
 * handful of system calls; prints the result. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  uint64_t rounds = argc > 1 ? strtoull(argv[1], NULL, 10) : 260000000ULL;
  struct timespec start, end;
  clock_gettime(CLOCK_MONOTONIC, &start);
  printf("cpu_loop: pid %d, %llu rounds\n", (int)getpid(), (unsigned long long)rounds);
  fflush(stdout);
  /* xorshift64: a dependency chain the compiler cannot fold away. */
  uint64_t x = 88172645463325252ULL, acc = 0;
  for (uint64_t i = 0; i < rounds; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    acc += x & 0xff;
  }
  clock_gettime(CLOCK_MONOTONIC, &end);
  printf("cpu_loop: result %llx\n", (unsigned long long)(acc ^ x));
  return 0;
}
