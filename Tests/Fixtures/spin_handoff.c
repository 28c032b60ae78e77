/* Two threads hand a turn back and forth by spinning on an atomic, with no system call in
   the loop: recording must preempt the spinner (at a recorded code point) so the other can
   run, and replay must stop it at that same point. */
#include "fixture.h"
#include <pthread.h>
#include <stdatomic.h>

static atomic_int turn;
static long passes[2];

static void *player(void *arg) {
  int me = (int)(long)arg;
  for (int round = 0; round < 5; round++) {
    while (atomic_load(&turn) != me) {
    }
    passes[me]++;
    atomic_store(&turn, 1 - me);
  }
  return NULL;
}

int main(void) {
  pthread_t other;
  check(pthread_create(&other, NULL, player, (void *)1L) == 0);
  player((void *)0L);
  check(pthread_join(other, NULL) == 0);
  printf("passes %ld %ld\n", passes[0], passes[1]);
  puts("EXIT-SUCCESS");
  return 0;
}
