/* Ticks every 20 ms until SIGTERM or 200 ticks. The tests signal or kill `rewind record`
   while it runs: SIGTERM must reach this program through rewind, and a killed recorder
   must leave a trace that replays up to where it stopped. */
#include "fixture.h"
#include <signal.h>
#include <time.h>

static volatile sig_atomic_t terminated;

static void on_term(int signal) {
  (void)signal;
  terminated = 1;
}

int main(void) {
  struct sigaction action = {0};
  action.sa_handler = on_term;
  check(sigaction(SIGTERM, &action, NULL) == 0);
  printf("pid %d\n", (int)getpid());
  for (int i = 0; i < 200; i++) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    printf("tick %d %ld.%09ld\n", i, (long)now.tv_sec, now.tv_nsec);
    fflush(stdout);
    struct timespec pause = {0, 20 * 1000 * 1000};
    nanosleep(&pause, NULL);
    if (terminated) {
      printf("caught SIGTERM after tick %d\n", i);
      return 7;
    }
  }
  puts("EXIT-SUCCESS");
  return 0;
}
