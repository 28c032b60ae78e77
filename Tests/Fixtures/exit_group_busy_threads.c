/* The main thread wakes four threads blocked in futex waits and at once exits the process,
 * as java's exit does: each woken thread calls gettid, then waits again. While recording,
 * woken threads once ran on after the exit_group's entry (it gave up the group's token) and
 * made calls replay could not reach, since the replayed exit_group kills them first: replay
 * waited for ever. */
#include "fixture.h"
#include <linux/futex.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

static int word;

static void *waiter(void *arg) {
  (void)arg;
  for (;;) {
    syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
    syscall(SYS_gettid);
  }
  return NULL;
}

int main(void) {
  pthread_t threads[4];
  for (int i = 0; i < 4; i++) check(pthread_create(&threads[i], NULL, waiter, NULL) == 0);
  usleep(20000);
  puts("waking four threads and exiting");
  fflush(stdout);
  syscall(SYS_futex, &word, FUTEX_WAKE_PRIVATE, 4, NULL, NULL, 0);
  _exit(0);
}
