/* rewind/watch.h: a program asks `rewind watch` to watch its own memory.
 *
 *   #include <rewind/watch.h>
 *   rewind_watch(&table->count, sizeof table->count, REWIND_WATCH_WRITE);
 *   ...
 *   rewind_unwatch(&table->count);
 *
 * Under `rewind watch` every write (or, with REWIND_WATCH_ACCESS, every read or write) to
 * the range is reported with a backtrace, and the place that set the watch is reported too.
 * Without rewind both are one system call that fails with ENOSYS: cheap no-ops. They return
 * 0 when the watch was set or cleared, else -1 with errno: ENOSYS (not under rewind watch),
 * EINVAL (length 0 or more than 32 bytes, an unknown kind), ENOSPC (the four debug
 * registers are taken), ENOENT (rewind_unwatch of an address not watched).
 *
 * Header-only C (also C++); the call number is rewind's REWIND_WATCH_SYSCALL. */
#ifndef REWIND_WATCH_H
#define REWIND_WATCH_H

#include <stddef.h>
#include <sys/syscall.h>
#include <unistd.h>

#define REWIND_WATCH_SYSCALL 29303

enum { REWIND_WATCH_WRITE = 1, REWIND_WATCH_ACCESS = 3 };

static inline int rewind_watch(const volatile void *address, size_t length, int kind) {
  return (int)syscall(REWIND_WATCH_SYSCALL, 1, address, length, kind);
}

static inline int rewind_unwatch(const volatile void *address) {
  return (int)syscall(REWIND_WATCH_SYSCALL, 2, address, 0, 0);
}

#endif
