/* A file copier, for fault injection: copies SRC to DST in 4096-byte chunks.
 * Usage: copy_file [--careless] SRC DST
 * Careful (the default): a failed write is reported on stderr naming DST and
 * the error, DST is removed and the exit status is 1; a short write is
 * continued until the chunk is written. --careless ignores what write returns:
 * a short write silently loses the rest of its chunk (a corrupted copy).
 * Prints "copied N bytes" and EXIT-SUCCESS when it believes it succeeded. */
#include "fixture.h"

int main(int argc, char **argv) {
  int careless = argc > 1 && strcmp(argv[1], "--careless") == 0;
  if (argc != 3 + careless) {
    fprintf(stderr, "usage: copy_file [--careless] SRC DST\n");
    return 2;
  }
  const char *src = argv[1 + careless], *dst = argv[2 + careless];
  int in = open(src, O_RDONLY);
  if (in < 0) {
    fprintf(stderr, "copy_file: opening %s: %s\n", src, strerror(errno));
    return 1;
  }
  int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (out < 0) {
    fprintf(stderr, "copy_file: creating %s: %s\n", dst, strerror(errno));
    return 1;
  }
  char buf[4096];
  long total = 0;
  for (;;) {
    ssize_t n = read(in, buf, sizeof buf);
    if (n < 0) {
      fprintf(stderr, "copy_file: reading %s: %s\n", src, strerror(errno));
      unlink(dst);
      return 1;
    }
    if (n == 0) break;
    if (careless) {
      (void)!write(out, buf, n);
    } else {
      for (ssize_t done = 0; done < n;) {
        ssize_t w = write(out, buf + done, n - done);
        if (w < 0) {
          fprintf(stderr, "copy_file: writing %s: %s\n", dst, strerror(errno));
          unlink(dst);
          return 1;
        }
        done += w;
      }
    }
    total += n;
  }
  if (close(out) < 0) {
    fprintf(stderr, "copy_file: closing %s: %s\n", dst, strerror(errno));
    unlink(dst);
    return 1;
  }
  close(in);
  printf("copied %ld bytes\n", total);
  printf("EXIT-SUCCESS\n");
  return 0;
}
