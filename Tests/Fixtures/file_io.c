/* File system calls replay with their recorded results: open/creat, write,
 * pread, lseek, read, fstat/stat, getdents64, rename and unlink.
 * Usage: file_io [DIR]   (DIR defaults to $TMPDIR, else /tmp) */
#include "fixture.h"
#include <dirent.h>
#include <sys/syscall.h>

static int compare_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Prints the entries of `dir` (without . and ..) in sorted order, read with
 * the raw getdents64 system call. */
static void list_dir(const char *dir) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY);
  check(fd >= 0);
  char buf[4096];
  char *names[64];
  int count = 0;
  for (;;) {
    long n = syscall(SYS_getdents64, fd, buf, sizeof buf);
    check(n >= 0);
    if (n == 0) break;
    for (long off = 0; off < n;) {
      struct dirent64 *d = (struct dirent64 *)(buf + off);
      if (strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0) {
        check(count < 64);
        names[count++] = strdup(d->d_name);
      }
      off += d->d_reclen;
    }
  }
  close(fd);
  qsort(names, count, sizeof names[0], compare_names);
  printf("entries:");
  for (int i = 0; i < count; i++) {
    printf(" %s", names[i]);
    free(names[i]);
  }
  printf("\n");
}

int main(int argc, char **argv) {
  char dir[4096], a[4200], b[4200], c[4200];
  snprintf(dir, sizeof dir, "%s/rewind-file_io-%d", fixture_tmpdir(argc > 1 ? argv[1] : NULL),
           (int)getpid());
  check(mkdir(dir, 0700) == 0);
  snprintf(a, sizeof a, "%s/alpha.txt", dir);
  snprintf(b, sizeof b, "%s/beta.txt", dir);
  snprintf(c, sizeof c, "%s/gamma.txt", dir);

  int fd = open(a, O_RDWR | O_CREAT | O_EXCL, 0600);
  check(fd >= 0);
  const char text[] = "hello, rewind: line one\nline two\n";
  ssize_t n = write(fd, text, sizeof text - 1);
  printf("write: %zd\n", n);
  check(n == (ssize_t)(sizeof text - 1));

  char buf[128] = {0};
  n = pread(fd, buf, 8, 7);
  printf("pread(8 @ 7): %zd \"%.*s\"\n", n, (int)n, buf);
  check(n == 8);

  off_t off = lseek(fd, 24, SEEK_SET);
  printf("lseek: %lld\n", (long long)off);
  memset(buf, 0, sizeof buf);
  n = read(fd, buf, sizeof buf);
  printf("read after lseek: %zd \"%.*s\"\n", n, (int)n - 1, buf);
  n = read(fd, buf, sizeof buf);
  printf("read at eof: %zd\n", n);

  struct stat st;
  check(fstat(fd, &st) == 0);
  printf("fstat size: %lld regular: %d mode: %o\n", (long long)st.st_size, S_ISREG(st.st_mode),
         st.st_mode & 0777);
  check(close(fd) == 0);

  int fd2 = creat(b, 0644);
  check(fd2 >= 0);
  check(write(fd2, "beta", 4) == 4);
  check(close(fd2) == 0);
  check(stat(b, &st) == 0);
  printf("stat size: %lld\n", (long long)st.st_size);

  errno = 0;
  int missing = open(c, O_RDONLY);
  printf("open missing: %d errno: %s\n", missing, strerrorname_np(errno));

  list_dir(dir);
  check(rename(b, c) == 0);
  printf("renamed beta.txt -> gamma.txt\n");
  list_dir(dir);

  check(unlink(a) == 0);
  check(unlink(c) == 0);
  list_dir(dir);
  check(rmdir(dir) == 0);
  errno = 0;
  int gone = stat(dir, &st);
  printf("stat after rmdir: %d errno: %s\n", gone, strerrorname_np(errno));
  puts("EXIT-SUCCESS");
  return 0;
}
