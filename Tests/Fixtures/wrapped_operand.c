/* Asynchronous signals land in a loop whose code, on a branch never taken, reads -8 off a
   register that holds 0: the address of that operand wraps to the top of the address
   space. A code point's signature takes the memory the nearby instructions' operands name;
   the recorder must skip one that names no memory (it died of SIGILL adding to it). */
#include "fixture.h"

static volatile int alarms;
static void on_alarm(int signal) {
  (void)signal;
  alarms++;
}

int main(void) {
  struct sigaction action = {.sa_handler = on_alarm, .sa_flags = SA_RESTART};
  check(sigaction(SIGALRM, &action, NULL) == 0);
  struct itimerval every = {.it_interval = {0, 2000}, .it_value = {0, 2000}};
  check(setitimer(ITIMER_REAL, &every, NULL) == 0);
  unsigned long count = 0, zero = 0, never = 0, end = 400000000;
  __asm__ volatile(
      "1:\n"
      "  add $1, %[count]\n"
      "  test %[never], %[never]\n"
      "  jnz 4f\n"
      "  cmp %[end], %[count]\n"
      "  jne 1b\n"
      "  jmp 3f\n"
      "4:\n"
      "  mov -8(%[zero]), %[never]\n"
      "3:\n"
      : [count] "+r"(count), [never] "+r"(never), [zero] "+r"(zero) /* a register of its own */
      : [end] "r"(end)
      : "cc", "memory");
  struct itimerval off = {{0, 0}, {0, 0}};
  check(setitimer(ITIMER_REAL, &off, NULL) == 0);
  printf("loop ran %lu times, alarms seen: %s\n", count, alarms > 0 ? "yes" : "no");
  printf("EXIT-SUCCESS\n");
  return 0;
}
