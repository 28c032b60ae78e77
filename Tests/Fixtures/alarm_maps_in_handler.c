/* SIGALRM from a 2 ms interval timer interrupts a busy loop, and the handler maps and
   unmaps a page: its first system call comes right after the signal's delivery. Replay
   keeps its compare-stub page mapped from one code point to the next, and must take it out
   of the way before such a call, from a stop where it cannot inject one as usual. */
#include "fixture.h"
#include <signal.h>
#include <sys/mman.h>

#define SIGNALS 5

static volatile int signals;
static volatile unsigned long pages;

static void on_alarm(int signal) {
  (void)signal;
  unsigned char *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (page != MAP_FAILED) {
    page[0] = 1;
    pages += page[0];
    munmap(page, 4096);
  }
  signals++;
}

int main(void) {
  unsigned long counter = 0;
  alarm_every(on_alarm, 2000);
  __asm__ volatile("1: addq $1, %0\n\tcmpl %2, %1\n\tjl 1b" : "+r"(counter) : "m"(signals), "r"(SIGNALS) : "cc");
  alarm_every(NULL, 0);
  /* More signals may come before the timer stops. */
  printf("%s signals, %s, counter %lu\n", signals >= SIGNALS ? "5 or more" : "too few",
         pages == (unsigned long)signals ? "a page each" : "pages missing", counter);
  puts("EXIT-SUCCESS");
  return 0;
}
