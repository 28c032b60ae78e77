/* Raises SIGUSR1 with its default action: the process dies of it (record exits 138). */
#include <signal.h>

int main(void) {
  raise(SIGUSR1);
  return 0;
}
