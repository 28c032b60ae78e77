/* System calls the buffer library cannot take: raw `syscall` instructions (through libc's
   syscall(), which the library does not override), mixed with libc's write and read, which
   it does; built static too (no library at all). Prints the sum of the results. */
#include "fixture.h"
#include <sys/syscall.h>

int main(void) {
  int p[2];
  check(pipe(p) == 0);
  long total = 0;
  for (int i = 0; i < 1000; i++) {
    char c = (char)i;
    total += syscall(SYS_write, p[1], &c, 1);
    total += syscall(SYS_read, p[0], &c, 1);
    total += write(p[1], &c, 1) + read(p[0], &c, 1) + c;
  }
  printf("total %ld\n", total);
  printf("EXIT-SUCCESS\n");
  return 0;
}
