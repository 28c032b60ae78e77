/* Reports which signals it started with ignored, then does what make does: a fatal signal
 * that was ignored stays ignored, the others get a handler. A shell's background job starts
 * with SIGINT and SIGQUIT ignored, and exec keeps that: replay must start the program with
 * the recorded set, or its sigaction calls part from the recording at once. */
#include "fixture.h"

static void on_fatal(int sig) { _exit(128 + sig); }

int main(void) {
  int signals[] = {SIGINT, SIGQUIT, SIGTERM, SIGHUP};
  const char *names[] = {"SIGINT", "SIGQUIT", "SIGTERM", "SIGHUP"};
  for (int i = 0; i < 4; i++) {
    struct sigaction was;
    check(sigaction(signals[i], NULL, &was) == 0);
    int ignored = was.sa_handler == SIG_IGN;
    printf("%s %s\n", names[i], ignored ? "ignored" : "default");
    if (!ignored) {
      struct sigaction handler = {.sa_handler = on_fatal};
      check(sigaction(signals[i], &handler, NULL) == 0);
    }
  }
  printf("EXIT-SUCCESS\n");
  return 0;
}
