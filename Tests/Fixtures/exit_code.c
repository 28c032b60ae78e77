/* A nonzero exit status is recorded and replayed. Exits 42, or argv[1]. */
#include "fixture.h"

int main(int argc, char **argv) {
  int status = argc > 1 ? atoi(argv[1]) : 42;
  printf("exiting with %d\n", status);
  fprintf(stderr, "exit_code: this line goes to stderr\n");
  puts("EXIT-SUCCESS");
  return status;
}
