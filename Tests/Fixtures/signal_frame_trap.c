/* Reads an RDTSC (while recording, a trap rewind serves), then counts in a register until a
   CPU-time timer's signal, and prints the trap number and error code the kernel wrote into
   the signal's frame. For a timer's signal they are whatever trap the thread took last,
   which recording and replay must make the same: replay reaches the signal's code point
   through its own traps. */
#include "fixture.h"
#include <signal.h>
#include <ucontext.h>
#include <x86intrin.h>

static volatile long frame_trapno = -1;
static volatile long frame_err = -1;

static void on_timer(int signal, siginfo_t *info, void *context) {
  (void)signal;
  (void)info;
  ucontext_t *frame = context;
  frame_err = frame->uc_mcontext.gregs[REG_ERR];
  frame_trapno = frame->uc_mcontext.gregs[REG_TRAPNO];
}

int main(void) {
  struct sigaction action = {0};
  action.sa_sigaction = on_timer;
  action.sa_flags = SA_SIGINFO;
  check(sigaction(SIGPROF, &action, NULL) == 0);
  unsigned long long start = __rdtsc();
  struct itimerval timer = {{0, 0}, {0, 20000}};
  check(setitimer(ITIMER_PROF, &timer, NULL) == 0);
  unsigned long count = 0;
  __asm__ volatile("1: addq $1, %0\n\tcmpq $-1, %1\n\tje 1b" : "+r"(count) : "m"(frame_trapno) : "cc");
  printf("the frame's trap number %ld, error code %ld\n", frame_trapno, frame_err);
  printf("time stamp read: %s\n", start != 0 ? "yes" : "no");
  puts("EXIT-SUCCESS");
  return 0;
}
