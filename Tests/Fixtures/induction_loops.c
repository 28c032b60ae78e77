/* SIGALRM from a 2 ms interval timer ends each of four tight loops whose counter lives in a
   register and moves by a constant each pass: up by 1 (64-bit), down by 3 (32-bit, so it
   wraps), up by 8 from a pointer-sized value (lea), down by 1 (dec). Replay finds such a
   loop's code point in the compare stub's fast lane, which checks the counter once a round
   of unrolled passes; the counters printed must match the recording's exactly. A fifth
   loop, an adc carry chain, keeps the flags live all round, where a compare would break it.
   Written in asm so that -O0 keeps each counter in a register, as optimized code does. */
#include "fixture.h"
#include <signal.h>

static volatile int alarms;

static void on_alarm(int signal) {
  (void)signal;
  alarms++;
}

/* A function `name` that runs `step` on a `type` counter until `alarms` is no longer `seen`. */
#define COUNTING_LOOP(name, type, step)                                                                        \
  static type name(type counter, int seen) {                                                                  \
    __asm__ volatile("1: " step "\n\tcmpl %2, %1\n\tje 1b" : "+r"(counter) : "m"(alarms), "r"(seen) : "cc"); \
    return counter;                                                                                           \
  }

COUNTING_LOOP(up_by_one, unsigned long, "addq $1, %0")
COUNTING_LOOP(down_by_three, unsigned int, "subl $3, %0")
COUNTING_LOOP(up_by_eight, unsigned long, "leaq 8(%0), %0")
COUNTING_LOOP(down_by_one, unsigned long, "decq %0")

/* A carry chain: each adc adds the carry the previous pass left, which dec keeps, so the
   flags are live all round the loop and no compare may go in it (a multi-precision add). */
static unsigned long carry_chain(unsigned long *steps, int seen) {
  unsigned long sum = 1;
  while (alarms == seen) {
    unsigned long count = 100000, addend = ~0UL;
    __asm__ volatile("clc\n1: adcq %2, %0\n\tleaq 1(%1), %1\n\tdecq %3\n\tjnz 1b"
                     : "+r"(sum), "+r"(*steps), "+r"(addend), "+c"(count)
                     :
                     : "cc");
  }
  return sum;
}

int main(void) {
  unsigned long up = 0, pointer = 0x7fff00000000UL, down = 1UL << 40, steps = 0;
  unsigned int wrapping = 5;
  alarm_every(on_alarm, 2000);
  for (int round = 0; round < 3; round++) {
    up = up_by_one(up, alarms);
    wrapping = down_by_three(wrapping, alarms);
    pointer = up_by_eight(pointer, alarms);
    down = down_by_one(down, alarms);
    unsigned long sum = carry_chain(&steps, alarms);
    printf("round %d: %lu %u %#lx %lu; carry chain %lu after %lu\n", round, up, wrapping, pointer, down, sum, steps);
  }
  alarm_every(NULL, 0);
  puts("EXIT-SUCCESS");
  return 0;
}
