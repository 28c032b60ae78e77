/* Buffered calls (writes, preads, clock reads and getpid on a regular file) while a
   SIGPROF arrives every 500 µs of the process's CPU time (not wall time, so a slow
   recording gets no more of them), whose handler makes buffered calls of its own: signals
   land inside the library, some between a call and its record's commit. Prints how many
   arrived and a checksum of what was read, which replay must reproduce. */
#include "fixture.h"
#include <sys/stat.h>
#include <time.h>

static volatile long ticks;
static volatile long handler_pids;

static void on_alarm(int sig) {
  (void)sig;
  ticks++;
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  handler_pids += getpid() > 0;
}

int main(void) {
  char path[] = "/tmp/rewind-buffered-signals-XXXXXX";
  int fd = mkstemp(path);
  check(fd >= 0);
  unlink(path);
  struct sigaction action = {0};
  action.sa_handler = on_alarm;
  check(sigaction(SIGPROF, &action, NULL) == 0);
  struct itimerval every = {{0, 500}, {0, 500}};
  check(setitimer(ITIMER_PROF, &every, NULL) == 0);
  unsigned long sum = 0;
  char block[64], back[64];
  for (int i = 0; i < 20000; i++) {
    memset(block, 'a' + i % 26, sizeof block);
    check(write(fd, block, sizeof block) == sizeof block);
    check(pread(fd, back, sizeof back, (off_t)i * 64) == sizeof back);
    struct timespec now;
    check(clock_gettime(CLOCK_MONOTONIC, &now) == 0);
    sum = sum * 31 + (unsigned char)back[i % 64] + (unsigned long)(getpid() > 0);
  }
  struct itimerval off = {{0, 0}, {0, 0}};
  check(setitimer(ITIMER_PROF, &off, NULL) == 0);
  printf("sum %lx ticks %ld handler calls %ld\n", sum, ticks, handler_pids);
  printf("EXIT-SUCCESS\n");
  return 0;
}
