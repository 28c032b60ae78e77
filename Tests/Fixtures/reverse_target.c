/* reverse_target: what the reverse-execution tests go backwards through. A counter bumped
 * in a loop with a write each time round, a signal handler, then a crash through a pointer
 * derived from the counter (2 * (0 + 1 + 2 + 3 + 4) - 20 is NULL). The line numbers are
 * named in ReverseDebuggingTests.swift: keep them where they are. */
#include <signal.h>
#include <unistd.h>

static long counter;
static volatile int handled;

static void on_usr1(int sig) {
  handled += sig; /* line 12 */
}

static long scale(long value, long factor) {
  return value * factor; /* line 16 */
}

int main(void) {
  signal(SIGUSR1, on_usr1);
  raise(SIGUSR1); /* the second one's handler is a few steps from the loop's last write */
  for (long i = 0; i < 5; i++) {
    counter += scale(i, 2); /* line 23 */
    write(1, ".", 1);
  }
  raise(SIGUSR1);
  write(1, "\n", 1);
  long *nowhere = (long *)(counter - 20);
  *nowhere = handled; /* line 29 */
  return 0;
}
