/* Clock reads replay the recorded values, although libc normally serves them
 * from the vDSO without a system call, and RDTSC/RDTSCP replay too. */
#include "fixture.h"
#include <sys/time.h>
#include <time.h>
#include <x86intrin.h>

int main(void) {
  long long previous_mono = -1;
  for (int i = 0; i < 5; i++) {
    struct timespec mono, real;
    struct timeval tv;
    check(clock_gettime(CLOCK_MONOTONIC, &mono) == 0);
    check(clock_gettime(CLOCK_REALTIME, &real) == 0);
    check(gettimeofday(&tv, NULL) == 0);
    time_t now = time(NULL);
    long long mono_ns = (long long)mono.tv_sec * 1000000000LL + mono.tv_nsec;
    check(mono_ns >= previous_mono);
    previous_mono = mono_ns;
    printf("%d monotonic: %lld.%09ld realtime: %lld.%09ld gettimeofday: %lld.%06ld time: %lld\n",
           i, (long long)mono.tv_sec, mono.tv_nsec, (long long)real.tv_sec, real.tv_nsec,
           (long long)tv.tv_sec, (long)tv.tv_usec, (long long)now);
  }
  unsigned long long tsc1 = __rdtsc();
  unsigned int aux = 0;
  unsigned long long tsc2 = __rdtscp(&aux);
  printf("rdtsc: %llu\n", tsc1);
  printf("rdtscp: %llu aux: %u\n", tsc2, aux);
  puts("EXIT-SUCCESS");
  return 0;
}
