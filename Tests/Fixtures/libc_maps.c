/* libc_maps: prints the lines of its own /proc/self/maps from libc's last (its data) to
 * the one after it (libc's .bss), as the kernel shows them while recording, then calls
 * `here`; FrontEndTests compares them with gdb's `info proc mappings` on the replay. */
#include "fixture.h"

__attribute__((noinline)) static void here(void) {
  puts("here");
}

int main(void) {
  FILE *maps = fopen("/proc/self/maps", "r");
  check(maps != NULL);
  char line[512];
  int after = 0;
  while (fgets(line, sizeof line, maps) != NULL) {
    if (after) {
      printf("MAPS %s", line);
      break;
    }
    if (strstr(line, "/libc.so.6") != NULL && strstr(line, " rw-p ") != NULL) {
      printf("MAPS %s", line);
      after = 1;
    }
  }
  fclose(maps);
  here();
  puts("EXIT-SUCCESS");
  return 0;
}
