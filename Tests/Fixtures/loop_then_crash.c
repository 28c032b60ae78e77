/* A loop of many passes (argv[1], default 300000) that makes no system call, then a
 * crash through a pointer that is NULL only then: in the loop's last pass, or with
 * argv[2] "after", just after the loop. Going backwards from the crash, the instructions
 * before it lie in the loop's last pass (or after the loop, then in its last pass). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

volatile unsigned long sum;

int main(int argc, char **argv) {
  long passes = argc > 1 ? atol(argv[1]) : 300000;
  int after = argc > 2 && strcmp(argv[2], "after") == 0;
  static int cell;
  printf("looping %ld times\n", passes);
  fflush(stdout);
  long i;
  for (i = 0; i < passes; i++) {
    sum += (unsigned long)i * 7;
    int *target = !after && i == passes - 1 ? NULL : &cell;
    *target = (int)i;
  }
  int *last = after ? NULL : &cell;
  *last = (int)sum;
  return 0;
}
