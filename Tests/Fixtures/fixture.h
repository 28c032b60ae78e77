/* Shared helpers for the record/replay fixtures in this directory.
 *
 * Every fixture prints what it observed, so the outputs of a recording and of
 * its replay can be compared line by line, and prints EXIT-SUCCESS last. A
 * failed check() names the file, the line and the condition on stderr and
 * exits 1, so a broken fixture is never mistaken for a replay divergence.
 */
#ifndef REWIND_FIXTURE_H
#define REWIND_FIXTURE_H

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define check(cond)                                                              \
  do {                                                                           \
    if (!(cond)) {                                                               \
      fprintf(stderr, "%s:%d: check failed: %s (errno %d: %s)\n", __FILE__,      \
              __LINE__, #cond, errno, strerror(errno));                          \
      exit(1);                                                                   \
    }                                                                            \
  } while (0)

/* Prints `label: ` and the bytes as lowercase hex on one line. */
static inline void print_hex(const char *label, const void *bytes, size_t count) {
  const unsigned char *p = bytes;
  printf("%s: ", label);
  for (size_t i = 0; i < count; i++) printf("%02x", p[i]);
  printf("\n");
}

/* Where fixtures may create files: argv's choice, else $TMPDIR, else /tmp. */
static inline const char *fixture_tmpdir(const char *from_argv) {
  if (from_argv != NULL && from_argv[0] != '\0') return from_argv;
  const char *env = getenv("TMPDIR");
  return (env != NULL && env[0] != '\0') ? env : "/tmp";
}

/* SIGALRM every `microseconds` from setitimer(ITIMER_REAL), handled by `handler` (when not
   NULL); 0 microseconds stops it. */
static inline void alarm_every(void (*handler)(int), long microseconds) {
  if (handler) {
    struct sigaction action = {0};
    action.sa_handler = handler;
    check(sigaction(SIGALRM, &action, NULL) == 0);
  }
  struct itimerval interval = {{0, microseconds}, {0, microseconds}};
  check(setitimer(ITIMER_REAL, &interval, NULL) == 0);
}

/* Bytes a JIT puts before a method's code (relocations, constants), here ones no decoder
   takes for code: 0x17 is invalid in 64-bit mode. */
#define JIT_DATA_BYTES 160

/* `code` written at run time into a page of its own (RWX, as a JIT's code cache) after
   JIT_DATA_BYTES of data, hlt after it; returns where the code starts. */
static inline unsigned char *jit_code(const unsigned char *code, size_t size) {
  unsigned char *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  check(page != MAP_FAILED);
  check(JIT_DATA_BYTES + size <= 4096);
  memset(page, 0x17, JIT_DATA_BYTES);
  memcpy(page + JIT_DATA_BYTES, code, size);
  memset(page + JIT_DATA_BYTES + size, 0xf4, 4096 - JIT_DATA_BYTES - size);
  return page + JIT_DATA_BYTES;
}

#endif
