/* Four threads increment a counter under a mutex and log the order they got the lock in;
   then a producer and two consumers pass items through a condition variable. The log
   shows the interleaving, which replay must reproduce exactly. */
#include "fixture.h"
#include <pthread.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ready = PTHREAD_COND_INITIALIZER;
static long counter;
static char order[512];
static int orderLength;
static int queue[16], head, tail, produced, consumedTotal;

static void *increment(void *arg) {
  long id = (long)arg;
  for (int i = 0; i < 50; i++) {
    pthread_mutex_lock(&lock);
    counter++;
    if (orderLength < (int)sizeof order - 1) order[orderLength++] = (char)('A' + id);
    pthread_mutex_unlock(&lock);
    if (i % 10 == 0) sched_yield();
  }
  return NULL;
}

static void *consume(void *arg) {
  long sum = 0;
  for (;;) {
    pthread_mutex_lock(&lock);
    while (head == tail && produced < 40) pthread_cond_wait(&ready, &lock);
    if (head == tail) {
      pthread_mutex_unlock(&lock);
      break;
    }
    sum += queue[head++ % 16];
    consumedTotal++;
    pthread_mutex_unlock(&lock);
  }
  return (void *)sum;
}

int main(void) {
  pthread_t threads[4];
  for (long i = 0; i < 4; i++) check(pthread_create(&threads[i], NULL, increment, (void *)i) == 0);
  for (int i = 0; i < 4; i++) check(pthread_join(threads[i], NULL) == 0);
  printf("counter %ld\norder %s\n", counter, order);
  pthread_t consumers[2];
  for (int i = 0; i < 2; i++) check(pthread_create(&consumers[i], NULL, consume, NULL) == 0);
  for (int i = 1; i <= 40; i++) {
    pthread_mutex_lock(&lock);
    while (tail - head >= 16) {
      pthread_mutex_unlock(&lock);
      sched_yield();
      pthread_mutex_lock(&lock);
    }
    queue[tail++ % 16] = i;
    produced = i;
    pthread_cond_broadcast(&ready);
    pthread_mutex_unlock(&lock);
  }
  long sums[2];
  for (int i = 0; i < 2; i++) check(pthread_join(consumers[i], (void **)&sums[i]) == 0);
  printf("consumed %d: %ld + %ld = %ld\n", consumedTotal, sums[0], sums[1], sums[0] + sums[1]);
  puts("EXIT-SUCCESS");
  return 0;
}
