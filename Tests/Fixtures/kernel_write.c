/* kernel_write: a buffer the kernel fills (a read from a pipe), twice, then the program
 * writes it: watchpoints on writes no instruction of the program makes. The line numbers
 * are named in ReverseDebuggingTests.swift: keep them where they are. */
#include <unistd.h>

static char buffer[8];

int main(void) {
  int fds[2];
  if (pipe(fds) != 0) return 1;
  write(fds[1], "first", 5);
  read(fds[0], buffer, 5); /* line 12 */
  write(fds[1], "again", 5);
  read(fds[0], buffer, 5); /* line 14 */
  buffer[1] = 'X';         /* line 15 */
  return buffer[1] == 'X' ? 0 : 1;
}
