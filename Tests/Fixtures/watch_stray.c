/* For `rewind watch`: a stray write through a dangling pointer from a second thread (the
   worker keeps a session main closed and handed to someone else), a counter written by both
   threads, and a config reached through a pointer (--expr 'cfg->limits.max').
   --wait FILE: prints "ready PID" and waits for FILE to exist first (a test attaches then).
   --api: asks to have `counter` watched through rewind/watch.h and prints what it got. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../include/rewind/watch.h"

struct session { long id; long state; };
struct limits { int min; int max; };
struct config { char name[16]; struct limits limits; };

struct session sessions[2];
long counter;
static struct config the_config = {"default", {1, 100}};
struct config *cfg = &the_config;
static struct session *stale;

static void open_session(struct session *s, long id) {
  s->id = id;
  s->state = 1;
}

static void close_session(struct session *s) {
  s->state = 0;
  s->id = 0;
}

static void *worker(void *arg) {
  (void)arg;
  for (int i = 0; i < 3; i++) counter++;
  stale->state = 99; /* STRAY WRITE */
  return NULL;
}

int main(int argc, char **argv) {
  int api = 0;
  const char *wait_for = NULL;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--api") == 0) api = 1;
    if (strcmp(argv[i], "--wait") == 0 && i + 1 < argc) wait_for = argv[++i];
  }
  if (wait_for) {
    printf("ready %d\n", (int)getpid());
    fflush(stdout);
    struct timespec pause = {0, 1000000};
    while (access(wait_for, F_OK) != 0) nanosleep(&pause, NULL);
  }
  if (api) {
    int r = rewind_watch(&counter, sizeof counter, REWIND_WATCH_WRITE);
    printf("rewind_watch: %d%s\n", r, r == 0 ? "" : errno == ENOSYS ? " ENOSYS" : " error");
  }
  open_session(&sessions[0], 1);
  stale = &sessions[0];
  close_session(&sessions[0]);
  open_session(&sessions[0], 2);
  counter = 10;
  counter += 5;
  cfg->limits.max = 200;
  pthread_t thread;
  pthread_create(&thread, NULL, worker, NULL);
  pthread_join(thread, NULL);
  if (api) printf("rewind_unwatch: %d\n", rewind_unwatch(&counter));
  printf("counter=%ld state=%ld max=%d\n", counter, sessions[0].state, cfg->limits.max);
  return 0;
}
