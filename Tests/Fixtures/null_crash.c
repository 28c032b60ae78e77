/* A crash replays as recorded: the program dies of SIGSEGV (exit 139 under
 * record) after printing a line. Prints no EXIT-SUCCESS. */
#include "fixture.h"

int main(void) {
  puts("about to write through a null pointer");
  check(fflush(stdout) == 0);
  volatile int *null = NULL;
  *null = 42;
  puts("still alive?");
  return 0;
}
