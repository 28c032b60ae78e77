/* A loop of many passes (argv[1], default 300000) that makes no system call, then a
 * crash in its last pass, through a pointer that is NULL only then: going backwards from
 * the crash, the instruction before it lies in the loop's last pass. */
#include <stdio.h>
#include <stdlib.h>

volatile unsigned long sum;

int main(int argc, char **argv) {
  long passes = argc > 1 ? atol(argv[1]) : 300000;
  static int cell;
  printf("looping %ld times\n", passes);
  fflush(stdout);
  for (long i = 0; i < passes; i++) {
    sum += (unsigned long)i * 7;
    int *target = i == passes - 1 ? NULL : &cell;
    *target = (int)i;
  }
  return 0;
}
