/* The rewind demo: reads clocks, the time-stamp counter, random bytes and a file it is
   given, prints them, then crashes on a NULL pointer. Replay shows the very same values. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <x86intrin.h>

int main(int argc, char **argv) {
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  printf("time:   %ld.%09ld\n", (long)now.tv_sec, now.tv_nsec);
  printf("rdtsc:  %llu\n", (unsigned long long)__rdtsc());
  unsigned char random[8];
  getrandom(random, sizeof random, 0);
  printf("random: ");
  for (size_t i = 0; i < sizeof random; i++) printf("%02x", random[i]);
  printf("\n");
  if (argc > 1) {
    FILE *f = fopen(argv[1], "w");
    fprintf(f, "written at %ld\n", (long)now.tv_sec);
    fclose(f);
    f = fopen(argv[1], "r");
    char line[100] = "";
    fgets(line, sizeof line, f);
    printf("file:   %s", line);
  }
  fflush(stdout);
  volatile int *nothing = NULL;
  *nothing = 42; /* the crash replays too */
  return 0;
}
