/* A file mapped with mmap replays with the contents it had when recorded,
 * even if the file changes (or changes length) before the replay.
 * Usage: mmap_file PATH [LENGTH]   (PATH is created, LENGTH bytes, default 10000; the test
 * rewrites it later). Replay copies a small mapping's recorded bytes in, and maps a large
 * one (256 KiB or more) from the trace's saved copy of the file. */
#include "fixture.h"

int main(int argc, char **argv) {
  check(argc == 2 || argc == 3);
  const char *path = argv[1];
  size_t length = argc == 3 ? strtoul(argv[2], NULL, 10) : 10000;
  char *contents = malloc(length);
  check(contents != NULL);
  for (size_t i = 0; i < length; i++) contents[i] = (char)('a' + (i * 7 + i / 26) % 26);
  memcpy(contents, "RECORDED:", 9);

  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
  check(fd >= 0);
  check(write(fd, contents, length) == (ssize_t)length);
  check(close(fd) == 0);
  free(contents);

  fd = open(path, O_RDONLY);
  check(fd >= 0);
  struct stat st;
  check(fstat(fd, &st) == 0);
  printf("size: %lld\n", (long long)st.st_size);
  const unsigned char *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
  check(map != MAP_FAILED);
  check(close(fd) == 0);

  uint32_t sum = 0;
  for (off_t i = 0; i < st.st_size; i++) sum = sum * 31 + map[i];
  printf("checksum: %08x\n", sum);
  printf("first bytes: %.24s\n", (const char *)map);
  printf("last byte: %c\n", map[st.st_size - 1]);
  check(munmap((void *)map, (size_t)st.st_size) == 0);
  puts("EXIT-SUCCESS");
  return 0;
}
