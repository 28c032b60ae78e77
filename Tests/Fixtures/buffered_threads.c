/* Four threads make buffered calls (write, pread, clock_gettime, gettid) on files of their
   own and take a mutex around a shared counter; then a forked child does the same on its
   copy of the parent's buffer. Prints what each read back and the counter. */
#include "fixture.h"
#include <pthread.h>
#include <sys/wait.h>
#include <time.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;

static unsigned long work(int id, int rounds) {
  char path[64];
  snprintf(path, sizeof path, "/tmp/rewind-buffered-threads-%d-XXXXXX", id);
  int fd = mkstemp(path);
  check(fd >= 0);
  unlink(path);
  unsigned long sum = 0;
  char block[32], back[32];
  for (int i = 0; i < rounds; i++) {
    memset(block, 'A' + (i + id) % 26, sizeof block);
    check(write(fd, block, sizeof block) == sizeof block);
    check(pread(fd, back, sizeof back, (off_t)i * 32) == sizeof back);
    struct timespec now;
    check(clock_gettime(CLOCK_REALTIME, &now) == 0);
    sum = sum * 31 + (unsigned char)back[i % 32] + (gettid() > 0);
    pthread_mutex_lock(&lock);
    counter++;
    pthread_mutex_unlock(&lock);
  }
  close(fd);
  return sum;
}

static unsigned long sums[4];

static void *thread_main(void *arg) {
  long id = (long)arg;
  sums[id] = work((int)id, 300);
  return NULL;
}

int main(void) {
  pthread_t threads[4];
  for (long i = 0; i < 4; i++) check(pthread_create(&threads[i], NULL, thread_main, (void *)i) == 0);
  for (int i = 0; i < 4; i++) check(pthread_join(threads[i], NULL) == 0);
  for (int i = 0; i < 4; i++) printf("thread %d sum %lx\n", i, sums[i]);
  printf("counter %ld\n", counter);
  fflush(stdout);
  pid_t child = fork();
  check(child >= 0);
  if (child == 0) {
    printf("child sum %lx\n", work(9, 200));
    fflush(stdout);
    _exit(0);
  }
  int status;
  check(waitpid(child, &status, 0) == child && WIFEXITED(status));
  printf("parent sum %lx\n", work(8, 200));
  printf("EXIT-SUCCESS\n");
  return 0;
}
