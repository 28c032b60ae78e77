/* A loop of many passes (argv[1], default 300000) that makes no system call, then a
 * crash through a pointer that is NULL only then: in the loop's last pass, or with
 * argv[2] "after", just after the loop, or with "call", after the loop and a call that
 * returns the pointer; "pointer" makes that call through a function pointer, "library"
 * takes the pointer from libc's toupper (called through the PLT). Going backwards from the
 * crash, the instructions before it lie in the loop's last pass (or after the loop, or in
 * the called function, then in its last pass). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

volatile unsigned long sum;

__attribute__((noinline)) static int *pick(unsigned long value, int *cell) { return value == 1 ? cell : NULL; }
int *(*volatile chooser)(unsigned long, int *) = pick;
volatile int upper;

int main(int argc, char **argv) {
  long passes = argc > 1 ? atol(argv[1]) : 300000;
  int after = argc > 2 && strcmp(argv[2], "after") == 0;
  int call = argc > 2 && strcmp(argv[2], "call") == 0;
  int pointer = argc > 2 && strcmp(argv[2], "pointer") == 0;
  int library = argc > 2 && strcmp(argv[2], "library") == 0;
  static int cell;
  /* toupper's first call goes through the dynamic loader's resolver; later ones jump from
     the PLT straight to it. The write below puts a system call between the two. */
  upper = toupper('a' + argc);
  printf("looping %ld times\n", passes);
  fflush(stdout);
  long i;
  for (i = 0; i < passes; i++) {
    sum += (unsigned long)i * 7;
    int *target = argc <= 2 && i == passes - 1 ? NULL : &cell;
    *target = (int)i;
  }
  int *last = call      ? pick(sum, &cell)
              : after   ? NULL
              : pointer ? chooser(sum, &cell)
              : library ? (toupper('a' + (int)(sum % 2)) <= 'Z' ? NULL : &cell)
                        : &cell;
  *last = (int)sum;
  return 0;
}
