/* Two threads alternate a few microseconds of work with a short system call (getppid), as a
   JIT's compiler and service threads do. Recording serializes them; a thread whose
   timeslice ends gives way at its next call's return rather than being preempted at a code
   point in its work, which replay would have to search for (DESIGN.md, principle 4). */
#include "fixture.h"
#include <pthread.h>
#include <sys/syscall.h>

#define ROUNDS 400

static volatile long sink[2];

static void *worker(void *arg) {
  long me = (long)arg;
  for (int round = 0; round < ROUNDS; round++) {
    for (int i = 0; i < 20000; i++) sink[me] += i ^ round;
    syscall(SYS_getppid);
  }
  return NULL;
}

int main(void) {
  pthread_t threads[2];
  for (long i = 0; i < 2; i++) check(pthread_create(&threads[i], NULL, worker, (void *)i) == 0);
  for (int i = 0; i < 2; i++) check(pthread_join(threads[i], NULL) == 0);
  printf("sums %ld %ld\n", sink[0], sink[1]);
  printf("EXIT-SUCCESS\n");
  return 0;
}
