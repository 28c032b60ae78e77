/* Runs argv[1] with argv[1..] with no signal blocked, as `rewind record` starts programs:
   the strace conformance test starts strace through it, since the test process hands its
   children a mask with most signals blocked. */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: unblocked_exec PROGRAM [ARG...]\n");
    return 64;
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  execvp(argv[1], argv + 1);
  perror(argv[1]);
  return 127;
}
