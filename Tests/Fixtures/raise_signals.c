/* Raises SIGUSR1, a realtime signal (SIGRTMIN + 2: 36 with glibc) and SIGSTKFLT, each
 * handled: gdb must name each as it names them natively. */
#include "fixture.h"
#include <signal.h>

static volatile sig_atomic_t last;

static void on_signal(int signal) { last = signal; }

int main(void) {
  int signals[] = {SIGUSR1, SIGRTMIN + 2, SIGSTKFLT};
  for (int i = 0; i < 3; i++) {
    check(signal(signals[i], on_signal) != SIG_ERR);
    check(raise(signals[i]) == 0);
    printf("handled %d\n", (int)last);
  }
  puts("EXIT-SUCCESS");
  return 0;
}
