/* A thread makes one short system call after another (getppid) while the main thread
   sleeps 20 ms, prints, and exits the process. Recording serializes the two: the busy
   thread must still give way (it keeps the token through calls that wait for no one), and
   its last call, entered after the exit_group and cut short by it, replays although the
   replayed exit_group kills the thread before it gets there. */
#include "fixture.h"
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

static void *caller(void *arg) {
  (void)arg;
  for (;;) syscall(SYS_getppid);
  return NULL;
}

int main(void) {
  pthread_t thread;
  check(pthread_create(&thread, NULL, caller, NULL) == 0);
  usleep(20000);
  puts("exiting with the other thread in a system call");
  fflush(stdout);
  _exit(0);
}
