/* Spins with no system call until SIGALRM from setitimer: replay delivers the signal at
   its recorded code point (a DR0 breakpoint). The loop's registers never change, so an
   early pass matches. The gdb tests break and step around it. */
#include "fixture.h"
#include <signal.h>
#include <sys/time.h>

static volatile sig_atomic_t alarmed;

static void on_alarm(int signal) {
  (void)signal;
  alarmed = 1;
}

static int after_alarm(int value) { return value + 1; }

int main(void) {
  struct sigaction action = {0};
  action.sa_handler = on_alarm;
  check(sigaction(SIGALRM, &action, NULL) == 0);
  struct itimerval timer = {{0, 0}, {0, 20000}};
  check(setitimer(ITIMER_REAL, &timer, NULL) == 0);
  while (!alarmed) {
  }
  printf("after the alarm: %d\n", after_alarm(alarmed));
  puts("EXIT-SUCCESS");
  return 0;
}
