/* The reverse-execution benchmark's program: N system calls (getppid, one an iteration),
 * a function called near the start, a variable last written at about 95% of the way, then a
 * crash through a pointer derived from it. Like most programs it holds data it set up at
 * the start (a 16 MiB table) and changes a little of it as it goes (one entry an
 * iteration, in order): what a checkpoint holds of its own is what changed since. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

volatile long watched;
volatile long started;

__attribute__((noinline)) static void near_start(long n) { started = n; }

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 1000000;
  long sum = 0;
  size_t entries = (16 << 20) / sizeof(long);
  long *table = malloc(entries * sizeof(long));
  memset(table, 1, entries * sizeof(long));
  for (long i = 0; i < n; i++) {
    if (i == n / 100) near_start(i);
    sum += getppid() & 1;
    table[i % entries] += sum;
    if (i == n - n / 20) watched = i + sum;
  }
  long *nowhere = (long *)(watched - watched);
  *nowhere = sum; /* the crash */
  return 0;
}
