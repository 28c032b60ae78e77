/* SIGALRM from a 2 ms interval timer lands in a loop over a function with several entry
   points, like glibc's memcpy and mempcpy. The timer usually interrupts `add_one` just
   after its pause, at a 3-byte mov that `add_three` jumps to, and that `add_two` jumps
   just past: no 5-byte jump fits there or shortly before. Replay patches such a point with
   a 2-byte jump to a 5-byte one written over the dead padding between the functions. */
#include "fixture.h"
#include <signal.h>

#define SIGNALS 8

static volatile int signals;
static unsigned long seen[SIGNALS];
static volatile unsigned long total;

static void on_alarm(int signal) {
  (void)signal;
  if (signals < SIGNALS) seen[signals] = total;
  signals++;
}

unsigned long add_one(unsigned long);
unsigned long add_two(unsigned long);
unsigned long add_three(unsigned long);
__asm__(".text\n\t"
        ".p2align 4\n"
        "add_two:\n\t"
        "lea 1(%rdi), %rdi\n\t"
        "jmp 1f\n\t"
        ".p2align 4, 0xcc\n"
        "add_three:\n\t"
        "lea 2(%rdi), %rdi\n\t"
        "jmp 2f\n\t"
        ".p2align 4, 0xcc\n"
        "add_one:\n\t"
        "pause\n"
        "2:\n\t"
        "mov %rdi, %rax\n"
        "1:\n\t"
        "add $1, %rax\n\t"
        "ret\n");

int main(void) {
  alarm_every(on_alarm, 2000);
  unsigned long value = 0;
  for (unsigned long i = 0; signals < SIGNALS; i++) {
    value = (i & 7) == 1 ? add_two(value) : (i & 7) == 2 ? add_three(value) : add_one(value);
    total = value;
  }
  alarm_every(NULL, 0);
  printf("values at the signals:");
  for (int i = 0; i < SIGNALS; i++) printf(" %lu", seen[i]);
  printf("\n");
  puts("EXIT-SUCCESS");
  return 0;
}
