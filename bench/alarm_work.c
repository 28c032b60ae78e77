/* SIGALRM from a 2 ms interval timer interrupts a busy loop of a fixed number of passes;
   the loop counter is printed at each signal. Unlike alarm_loop.c, whose loop runs until
   the Nth alarm (so its replay must redo however many passes the CPU managed in that
   time while recording), the work here is the same in every run: record and replay
   times compare the tools, not the CPU's speed at two moments. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>

static volatile sig_atomic_t alarms;
static void on_alarm(int signal) { (void)signal; alarms++; }

int main(int argc, char **argv) {
  unsigned long passes = argc > 1 ? strtoul(argv[1], NULL, 10) : 100000000UL;
  struct sigaction action = {0};
  action.sa_handler = on_alarm;
  sigaction(SIGALRM, &action, NULL);
  struct itimerval interval = {{0, 2000}, {0, 2000}};
  setitimer(ITIMER_REAL, &interval, NULL);
  int printed = 0;
  for (unsigned long counter = 0; counter < passes; counter++) {
    if (alarms > printed) {
      printed = alarms;
      printf("alarm %d at counter %lu\n", printed, counter);
    }
  }
  printf("%d alarms in %lu passes\n", (int)alarms, passes);
  return 0;
}
