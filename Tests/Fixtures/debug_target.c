/* debug_target: what the gdb tests break in, step through and catch system calls of.
 * `scale` has arguments to print, the loop a variable that changes each iteration,
 * two writes to catch, and with argument "crash" a NULL write at a known line. The
 * line numbers are named in DebuggerTests.swift: keep them where they are. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int scale(int value, int factor) {
  return value * factor; /* line 10 */
}

int main(int argc, char **argv) {
  int sum = 0;
  for (int i = 0; i < 6; i++) {
    sum += scale(i, 3); /* line 16 */
  }
  char line[64];
  int n = snprintf(line, sizeof line, "sum=%d\n", sum);
  write(1, line, n);
  write(1, "bye\n", 4);
  if (argc > 1 && strcmp(argv[1], "crash") == 0) {
    volatile int *nowhere = NULL;
    *nowhere = sum; /* line 24 */
  }
  return 0;
}
