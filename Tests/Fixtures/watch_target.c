/* watch_target: what the gdb tests set watchpoints on. A 16-byte struct whose last field
 * changes, and a short at an odd address: regions a single x86 debug register cannot
 * watch. */
#include <stdio.h>
#include <string.h>

static struct {
  int a, b, c, d;
} quad;
static char bytes[8];

static void touch(int i) {
  quad.d = i;
  short value = (short)(i * 257);
  memcpy(bytes + 3, &value, sizeof value);
}

int main(void) {
  for (int i = 1; i < 5; i++) touch(i);
  printf("%d %d\n", quad.d, bytes[4]);
  puts("EXIT-SUCCESS");
  return 0;
}
