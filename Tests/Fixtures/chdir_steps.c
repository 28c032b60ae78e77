/* chdir_steps: changes directory between calls to `here`, for `info proc cwd` at each stop,
 * forwards and after reverse execution (FrontEndTests). argv[1] is a directory with a
 * subdirectory `sub`. Step 1: argv[1]; 2: argv[1]/sub; 3: /; 4: argv[1] again, by fchdir
 * to a descriptor opened as ".." from step 2. */
#include "fixture.h"

__attribute__((noinline)) static void here(int step) {
  printf("step %d\n", step);
}

int main(int argc, char **argv) {
  check(argc == 2);
  here(0);
  check(chdir(argv[1]) == 0);
  here(1);
  check(chdir("sub") == 0);
  here(2);
  int up = open("..", O_RDONLY | O_DIRECTORY);
  check(up >= 0);
  check(chdir("/") == 0);
  here(3);
  check(fchdir(up) == 0);
  here(4);
  puts("EXIT-SUCCESS");
  return 0;
}
