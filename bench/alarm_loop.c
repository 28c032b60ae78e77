/* SIGALRM from a 2 ms interval timer interrupts a busy loop; the handler counts, and the
   loop counter is printed at each signal. The signal lands between system calls, deep in a
   loop whose registers change: the hardest code point to reach. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>

static volatile sig_atomic_t alarms;
static void on_alarm(int signal) { (void)signal; alarms++; }

int main(int argc, char **argv) {
  int wanted = argc > 1 ? atoi(argv[1]) : 3;
  struct sigaction action = {0};
  action.sa_handler = on_alarm;
  sigaction(SIGALRM, &action, NULL);
  struct itimerval interval = {{0, 2000}, {0, 2000}};
  setitimer(ITIMER_REAL, &interval, NULL);
  unsigned long counter = 0;
  int printed = 0;
  while (printed < wanted) {
    counter++;
    if (alarms > printed) {
      printed = alarms;
      printf("alarm %d at counter %lu\n", printed, counter);
    }
  }
  return 0;
}
