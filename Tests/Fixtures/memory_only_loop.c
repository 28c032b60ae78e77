/* SIGALRM from a 2 ms interval timer interrupts a loop that changes only memory: a locked
   increment of a global counter, then a test of the signal count. Every pass has the same
   registers, so only the counter tells the passes apart (a code point's memory, DESIGN.md
   principle 4): the handler records the counter at each signal, and the values are printed
   at the end. */
#include "fixture.h"
#include <signal.h>
#include <sys/time.h>

#define SIGNALS 8

static volatile int counter;
static volatile int signals;
static int seen[SIGNALS];

static void on_alarm(int signal) {
  (void)signal;
  if (signals < SIGNALS) seen[signals] = counter;
  signals++;
}

int main(void) {
  alarm_every(on_alarm, 2000);
  __asm__ volatile("1:\n\t"
                   "lock incl %0\n\t"
                   "cmpl %2, %1\n\t"
                   "jl 1b\n\t"
                   : "+m"(counter)
                   : "m"(signals), "r"(SIGNALS)
                   : "cc");
  alarm_every(NULL, 0);
  printf("counter at the signals:");
  for (int i = 0; i < SIGNALS; i++) {
    printf(" %d", seen[i]);
    if (i > 0) check(seen[i] >= seen[i - 1]); /* equal when a signal waited at the sigreturn */
  }
  printf("\n");
  puts("EXIT-SUCCESS");
  return 0;
}
