/* Reacts to the kind of file a path names, for fault injection of stat results.
 * Usage: stat_kind PATH
 * A regular file: prints its size and EXIT-SUCCESS. A directory: says it cannot
 * read one and exits 2. A FIFO: waits for a writer for ever (pause), as a reader
 * blocked on an unused FIFO would. Anything else: exits 3. */
#include "fixture.h"

int main(int argc, char **argv) {
  if (argc != 2) return 64;
  struct stat st;
  check(stat(argv[1], &st) == 0);
  if (S_ISDIR(st.st_mode)) {
    fprintf(stderr, "stat_kind: %s is a directory\n", argv[1]);
    return 2;
  }
  if (S_ISFIFO(st.st_mode)) {
    fprintf(stderr, "stat_kind: %s is a FIFO; waiting for a writer\n", argv[1]);
    pause();
    return 4;
  }
  if (!S_ISREG(st.st_mode)) return 3;
  printf("%s: %ld bytes\n", argv[1], (long)st.st_size);
  printf("EXIT-SUCCESS\n");
  return 0;
}
