/* SIGALRM from 2 ms interval timers interrupts a busy loop that makes no system call: first
   setitimer(ITIMER_REAL), then a POSIX timer (timer_create). The handler records the loop
   counter at each signal, and the counters are printed at the end. Each signal lands at a
   code point deep in the loop whose registers change at every pass (the counter is kept in
   a register), so replay must stop at exactly the recorded pass: one pass off and the
   printed counters differ. */
#include "fixture.h"
#include <signal.h>
#include <sys/time.h>
#include <time.h>

#define SIGNALS 12

static volatile unsigned long progress;
static volatile int signals;
static unsigned long seen[SIGNALS];

static void on_alarm(int signal) {
  (void)signal;
  if (signals < SIGNALS) seen[signals] = progress;
  signals++;
}

/* Counts until `wanted` signals came: the counter lives in a register (and is mirrored in
   `progress` for the handler), so no two passes have the same registers. */
static unsigned long busy_loop(int wanted) {
  unsigned long counter = 0;
  __asm__ volatile("1:\n\t"
                   "add $1, %0\n\t"
                   "mov %0, %1\n\t"
                   "cmpl %3, %2\n\t"
                   "jl 1b\n\t"
                   : "+r"(counter), "=m"(progress)
                   : "m"(signals), "r"(wanted)
                   : "cc");
  return counter;
}

static void print_counters(const char *timer, unsigned long total) {
  printf("%s: %d signals, loop ran %lu times; counters at the signals:", timer, SIGNALS, total);
  for (int i = 0; i < SIGNALS; i++) {
    printf(" %lu", seen[i]);
    if (i > 0) check(seen[i] >= seen[i - 1]);
  }
  printf("\n");
}

int main(void) {
  alarm_every(on_alarm, 2000);
  unsigned long total = busy_loop(SIGNALS);
  alarm_every(NULL, 0);
  print_counters("setitimer", total);

  signals = 0;
  memset(seen, 0, sizeof seen);
  timer_t timer;
  struct sigevent event = {0};
  event.sigev_notify = SIGEV_SIGNAL;
  event.sigev_signo = SIGALRM;
  check(timer_create(CLOCK_MONOTONIC, &event, &timer) == 0);
  struct itimerspec period = {{0, 2000000}, {0, 2000000}};
  check(timer_settime(timer, 0, &period, NULL) == 0);
  total = busy_loop(SIGNALS);
  check(timer_delete(timer) == 0);
  print_counters("timer_create", total);
  puts("EXIT-SUCCESS");
  return 0;
}
