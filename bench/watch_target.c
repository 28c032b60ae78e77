/* For bench/watch.sh: writes `watched` HITS times from 10 calls deep (a 10-frame backtrace
   per hit) and other memory OTHER times. */
#include <stdio.h>
#include <stdlib.h>

long watched;
static long other[4096];

__attribute__((noinline)) static void deep(int depth, long value) {
  if (depth > 1) {
    deep(depth - 1, value);
    __asm__ volatile("" ::: "memory"); /* not a tail call: every frame stays */
    return;
  }
  watched = value;
}

int main(int argc, char **argv) {
  long hits = argc > 1 ? atol(argv[1]) : 0;
  long writes = argc > 2 ? atol(argv[2]) : 0;
  for (long i = 0; i < hits; i++) deep(9, i);
  for (long i = 0; i < writes; i++) ((volatile long *)other)[i & 4095] = i;
  printf("%ld %ld\n", watched, other[7]);
  return 0;
}
