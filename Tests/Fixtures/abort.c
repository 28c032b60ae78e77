/* abort() replays as recorded: the program dies of SIGABRT (exit 134 under
 * record) after printing a line. Prints no EXIT-SUCCESS. */
#include "fixture.h"

int main(void) {
  puts("about to abort");
  check(fflush(stdout) == 0);
  abort();
}
