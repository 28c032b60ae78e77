/* Counts in a register until one SIGVTALRM, after argv[1] microseconds of its own CPU time
   (default 200000), and prints the count: replay's search for that code point runs the whole
   loop, which the tests make long enough for rewind's notice about long searches. CPU time,
   not wall time: on a loaded machine a wall-clock alarm came after so few passes that the
   replay found the point before the notice was due. */
#include "fixture.h"
#include <signal.h>

static volatile int alarmed;

static void on_alarm(int signal) {
  (void)signal;
  alarmed = 1;
}

int main(int argc, char **argv) {
  long microseconds = argc > 1 ? atol(argv[1]) : 200000;
  struct sigaction action = {0};
  action.sa_handler = on_alarm;
  check(sigaction(SIGVTALRM, &action, NULL) == 0);
  struct itimerval timer = {{0, 0}, {microseconds / 1000000, microseconds % 1000000}};
  check(setitimer(ITIMER_VIRTUAL, &timer, NULL) == 0);
  unsigned long count = 0;
  __asm__ volatile("1: addq $1, %0\n\tcmpl $0, %1\n\tje 1b" : "+r"(count) : "m"(alarmed) : "cc");
  printf("counted to %lu\n", count);
  puts("EXIT-SUCCESS");
  return 0;
}
