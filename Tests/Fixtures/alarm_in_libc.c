/* SIGALRM every 2 ms while the program copies and fills buffers in a loop with no system
   call: most signals land inside libc's memcpy, memset and strlen (position-independent
   code far from the program, often inside a `rep movsb` or `rep stosb` between two of its
   iterations). The handler notes how far the loop got; the notes and a checksum are
   printed at the end. */
#include "fixture.h"
#include <signal.h>
#include <sys/time.h>

#define SIGNALS 20

static volatile int signals;
static volatile unsigned long progress;
static unsigned long seen[SIGNALS];
static char source[1 << 18], destination[1 << 18];

static void on_alarm(int signal) {
  (void)signal;
  if (signals < SIGNALS) seen[signals] = progress;
  signals++;
}

int main(void) {
  alarm_every(on_alarm, 2000);
  unsigned long checksum = 0;
  while (signals < SIGNALS) {
    /* Every call gets other pointers and lengths, so no two passes look alike. */
    unsigned long at = (progress * 97) % 100000;
    size_t length = 3000 + at % 5000;
    memset(source + at, (int)(progress % 250) + 1, length);
    source[at + length] = 0;
    checksum += strlen(source + at);
    memcpy(destination + at, source + at, length);
    checksum += (unsigned char)destination[at + length / 2];
    progress++;
  }
  alarm_every(NULL, 0);
  printf("%d signals; the loop had run", SIGNALS);
  for (int i = 0; i < SIGNALS; i++) printf(" %lu", seen[i]);
  printf(" times; checksum %lu\n", checksum);
  puts("EXIT-SUCCESS");
  return 0;
}
