/* A loop of many passes (argv[1], default 300000) that makes no system call, then a
 * crash through a pointer that is NULL only then: in the loop's last pass, or with
 * argv[2] "after", just after the loop, or with "call", after the loop and a call that
 * returns the pointer; "pointer" makes that call through a function pointer, "library"
 * takes the pointer from libc's toupper (called through the PLT), "switch" goes through a
 * switch's jump table (an indirect jmp) to a case, and "tail" calls a function whose call
 * of pick is a tail call (pick returns straight to main), and "lazy" calls libc's tolower for
 * the first time, through the dynamic loader's lazy resolver. Going backwards from the
 * crash, the instructions before it lie in the loop's last pass (or after the loop, or in
 * the called function, then in its last pass). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

volatile unsigned long sum;

__attribute__((noinline)) static int *pick(unsigned long value, int *cell) { return value == 1 ? cell : NULL; }
/* Built optimized so that its call of pick is a jmp: pick's return goes back to main. */
__attribute__((noinline, optimize("O2"))) static int *relay(unsigned long value, int *cell) { return pick(value ^ 1, cell); }
int *(*volatile chooser)(unsigned long, int *) = pick;
volatile int upper;

int main(int argc, char **argv) {
  long passes = argc > 1 ? atol(argv[1]) : 300000;
  int after = argc > 2 && strcmp(argv[2], "after") == 0;
  int call = argc > 2 && strcmp(argv[2], "call") == 0;
  int pointer = argc > 2 && strcmp(argv[2], "pointer") == 0;
  int library = argc > 2 && strcmp(argv[2], "library") == 0;
  int jump = argc > 2 && strcmp(argv[2], "switch") == 0;
  int tail = argc > 2 && strcmp(argv[2], "tail") == 0;
  int lazy = argc > 2 && strcmp(argv[2], "lazy") == 0;
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
  if (jump) {
    /* Eight dense cases: gcc makes a jump table even at -O0. */
    switch (sum % 8) {
    case 0: upper = 10; break;
    case 1: upper = 11; break;
    case 2: upper = 12; break;
    case 3: upper = 13; break;
    case 4: upper = 14; break;
    case 5: upper = 15; break;
    case 6: upper = 16; break;
    default: upper = 17; break;
    }
    int *none = NULL;
    *none = (int)sum;
  }
  int *last = call      ? pick(sum, &cell)
              : tail    ? relay(sum, &cell)
              : lazy    ? (tolower('A' + (int)(sum % 2)) >= 'a' ? NULL : &cell)
              : after   ? NULL
              : pointer ? chooser(sum, &cell)
              : library ? (toupper('a' + (int)(sum % 2)) <= 'Z' ? NULL : &cell)
                        : &cell;
  *last = (int)sum;
  return 0;
}
