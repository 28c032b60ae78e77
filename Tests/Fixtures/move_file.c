/* Moves argv[1] to argv[2] like mv: rename, and when the two are on different file
 * systems (EXDEV) copies the bytes and unlinks the source. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int copy_then_unlink(const char *from, const char *to) {
  int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (in < 0 || out < 0) return -1;
  char buffer[4096];
  ssize_t count;
  while ((count = read(in, buffer, sizeof buffer)) > 0) {
    if (write(out, buffer, (size_t)count) != count) return -1;
  }
  if (count < 0 || close(in) != 0 || close(out) != 0) return -1;
  return unlink(from);
}

int main(int argc, char **argv) {
  if (argc != 3) return 2;
  if (rename(argv[1], argv[2]) == 0) {
    printf("renamed\n");
    return 0;
  }
  if (errno != EXDEV) {
    fprintf(stderr, "move_file: %s\n", strerror(errno));
    return 1;
  }
  if (copy_then_unlink(argv[1], argv[2]) != 0) {
    fprintf(stderr, "move_file: copying: %s\n", strerror(errno));
    return 1;
  }
  printf("copied across file systems\n");
  return 0;
}
