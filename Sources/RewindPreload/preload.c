/* The in-tracee system call buffer (issue 14, docs/ARCHITECTURE.md "System call buffer").
 *
 * Loaded with LD_PRELOAD into every process rewind records, it performs a few common calls
 * itself through the one `syscall` instruction the recording's seccomp filter lets run
 * without a ptrace stop (on a page it maps at REWIND_PAGE_ADDRESS), and appends to a
 * per-thread ring {number, registers at the call, result, bytes the call wrote}. The
 * recorder reads the ring at every stop of the thread and writes each record as an
 * ordinary system call event. Replay loads this library too and runs the same code: each
 * buffered `syscall` stops under PTRACE_SYSEMU like any other and is served from its event.
 *
 * Everything this code decides depends only on its own memory and on results of system
 * calls, so replay makes the same decisions. Calls that might block (a read of a pipe
 * while the thread holds its memory group's turn would stall the group) go the slow way:
 * read and write are buffered only on regular files and the memory devices (/dev/null,
 * /dev/zero, /dev/urandom...), which fstat tells at each call. */
#define _GNU_SOURCE
#include "../CSupport/include/rewind_buffer_abi.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* Whether the page is in place in this process (set by the constructor). */
static int page_is_mapped;

struct thread_state {
  char *buffer; /* REWIND_BUFFER_SIZE bytes, or NULL */
  int disabled;
  /* header->end at this thread's last traced call: the recorder has read up to there. */
  uint64_t read_up_to;
};
static __thread struct thread_state self;

/* A raw system call through an ordinary `syscall` instruction (so: traced). */
static long traced(long nr, long a0, long a1, long a2, long a3, long a4, long a5) {
  register long r10 __asm__("r10") = a3;
  register long r8 __asm__("r8") = a4;
  register long r9 __asm__("r9") = a5;
  long result;
  __asm__ volatile("syscall"
                   : "=a"(result)
                   : "a"(nr), "D"(a0), "S"(a1), "d"(a2), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return result;
}

/* A traced call from the page's control instruction, which the recorder recognizes. */
static long control(long nr, long a0, long a1) {
  long result;
  register long r10 __asm__("r10") = 0;
  register long r8 __asm__("r8") = 0;
  register long r9 __asm__("r9") = 0;
  __asm__ volatile("call *%[target]"
                   : "=a"(result)
                   : [target] "r"(REWIND_PAGE_ADDRESS + REWIND_PAGE_CONTROL_OFFSET), "a"(nr), "D"(a0),
                     "S"(a1), "d"(0), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return result;
}

static long as_result(long raw) {
  if (raw < 0 && raw > -4096) {
    errno = (int)-raw;
    return -1;
  }
  return raw;
}

/* The call of `call` (number, six arguments) through the page's buffered instruction;
   stores every register word as the kernel will see it at that instruction, and the
   result. Defined in assembly below. */
struct buffered_call {
  uint64_t number;
  uint64_t arguments[6];
  uint64_t registers[27];
};
long rewind_buffered_trampoline(struct buffered_call *call);
__asm__(
    ".text\n"
    ".globl rewind_buffered_trampoline\n"
    ".hidden rewind_buffered_trampoline\n"
    ".type rewind_buffered_trampoline, @function\n"
    "rewind_buffered_trampoline:\n"
    "  push %rbx\n"
    "  mov %rdi, %rbx\n"
    "  mov 0(%rbx), %rax\n"
    "  mov 8(%rbx), %rdi\n"
    "  mov 16(%rbx), %rsi\n"
    "  mov 24(%rbx), %rdx\n"
    "  mov 32(%rbx), %r10\n"
    "  mov 40(%rbx), %r8\n"
    "  mov 48(%rbx), %r9\n"
    "  lea 56(%rbx), %rcx\n"
    /* user_regs_struct order: r15 r14 r13 r12 rbp rbx r11 r10 r9 r8 rax rcx rdx rsi rdi
       orig_rax rip cs eflags rsp ss fs_base gs_base ds es fs gs */
    "  mov %r15, 0(%rcx)\n"
    "  mov %r14, 8(%rcx)\n"
    "  mov %r13, 16(%rcx)\n"
    "  mov %r12, 24(%rcx)\n"
    "  mov %rbp, 32(%rcx)\n"
    "  mov %rbx, 40(%rcx)\n"
    "  mov %r10, 56(%rcx)\n"
    "  mov %r9, 64(%rcx)\n"
    "  mov %r8, 72(%rcx)\n"
    "  movq $-38, 80(%rcx)\n" /* rax at a syscall-entry stop: -ENOSYS */
    "  mov %rdx, 96(%rcx)\n"
    "  mov %rsi, 104(%rcx)\n"
    "  mov %rdi, 112(%rcx)\n"
    "  mov %rax, 120(%rcx)\n"
    "  lea -8(%rsp), %r11\n" /* rsp inside the page, below the call's return address */
    "  mov %r11, 152(%rcx)\n"
    "  movabs $0x70000000002, %r11\n" /* REWIND_PAGE_ADDRESS + 2: rip and rcx after it */
    "  mov %r11, 88(%rcx)\n"
    "  mov %r11, 128(%rcx)\n"
    "  pushfq\n"
    "  pop %r11\n"
    "  mov %r11, 48(%rcx)\n" /* the syscall instruction copies rflags into r11 */
    "  mov %r11, 144(%rcx)\n"
    "  movabs $0x70000000000, %r11\n"
    "  call *%r11\n"
    "  pop %rbx\n"
    "  ret\n"
    ".size rewind_buffered_trampoline, .-rewind_buffered_trampoline\n");

_Static_assert(REWIND_PAGE_ADDRESS == 0x70000000000ull, "the trampoline's constants");

__attribute__((constructor)) static void map_page(void) {
  void *page = (void *)(uintptr_t)REWIND_PAGE_ADDRESS;
  void *got = mmap(page, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (got != page) {
    if (got != MAP_FAILED) munmap(got, 4096);
    return; /* something else is there: every call takes the slow path */
  }
  static const unsigned char syscall_then_return[] = {0x0f, 0x05, 0xc3};
  memcpy((char *)page + REWIND_PAGE_BUFFERED_OFFSET, syscall_then_return, sizeof syscall_then_return);
  memcpy((char *)page + REWIND_PAGE_CONTROL_OFFSET, syscall_then_return, sizeof syscall_then_return);
  if (mprotect(page, 4096, PROT_READ | PROT_EXEC) != 0) return;
  page_is_mapped = 1;
}

/* This thread's buffer, made and announced to the recorder at its first buffered call
   (getpid from the control instruction, with the buffer's address and size). A forked
   child keeps its parent's (a copy); a new thread starts without one. */
static struct rewind_buffer_header *thread_buffer(void) {
  if (self.buffer) return (struct rewind_buffer_header *)self.buffer;
  if (!page_is_mapped || self.disabled) return NULL;
  void *buffer = (void *)traced(SYS_mmap, 0, REWIND_BUFFER_SIZE, PROT_READ | PROT_WRITE,
                                MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if ((long)buffer < 0 && (long)buffer > -4096) {
    self.disabled = 1;
    return NULL;
  }
  self.buffer = buffer;
  self.read_up_to = 0;
  control(SYS_getpid, (long)buffer, REWIND_BUFFER_SIZE);
  return (struct rewind_buffer_header *)buffer;
}

static uint64_t padded(uint64_t n) { return (n + 7) & ~(uint64_t)7; }

/* What the call wrote, from its number, arguments and result. */
static int outputs_of(const struct buffered_call *call, long result, struct rewind_buffer_chunk *chunks) {
  const uint64_t *a = call->arguments;
  if (result < 0 && result > -4096) return 0;
  switch (call->number) {
  case SYS_read:
  case SYS_pread64:
    if (result == 0) return 0;
    chunks[0] = (struct rewind_buffer_chunk){a[1], (uint64_t)result};
    return 1;
  case SYS_fstat:
    chunks[0] = (struct rewind_buffer_chunk){a[1], sizeof(struct stat)};
    return 1;
  case SYS_clock_gettime:
    chunks[0] = (struct rewind_buffer_chunk){a[1], sizeof(struct timespec)};
    return 1;
  case SYS_gettimeofday: {
    int n = 0;
    if (a[0]) chunks[n++] = (struct rewind_buffer_chunk){a[0], sizeof(struct timeval)};
    if (a[1]) chunks[n++] = (struct rewind_buffer_chunk){a[1], 8};
    return n;
  }
  case SYS_time:
    if (!a[0]) return 0;
    chunks[0] = (struct rewind_buffer_chunk){a[0], sizeof(time_t)};
    return 1;
  default:
    return 0;
  }
}

/* Performs the call through the buffer, or the slow way when this thread has none or its
   output could exceed REWIND_BUFFER_MAX_OUTPUT. Returns the raw result (-errno). */
static long buffered(long nr, long a0, long a1, long a2, long a3, uint64_t max_output) {
  struct rewind_buffer_header *header = max_output <= REWIND_BUFFER_MAX_OUTPUT ? thread_buffer() : NULL;
  if (!header) return traced(nr, a0, a1, a2, a3, 0, 0);
  char *ring = (char *)header + REWIND_BUFFER_RECORDS;
  uint64_t most = padded(sizeof(struct rewind_buffer_record) + max_output) + 8 * REWIND_BUFFER_MAX_CHUNKS;
  for (;;) {
    uint64_t end = header->end;
    uint64_t at = end % REWIND_BUFFER_RING;
    uint64_t padding = at + most > REWIND_BUFFER_RING ? REWIND_BUFFER_RING - at : 0;
    if (end + padding + most - self.read_up_to > REWIND_BUFFER_RING) {
      /* The recorder reads the whole ring at this traced call's stop. */
      self.read_up_to = end;
      traced(SYS_getppid, 0, 0, 0, 0, 0, 0);
      continue;
    }
    __atomic_store_n(&header->in_flight, 1, __ATOMIC_SEQ_CST);
    /* A signal handler that ran before in_flight was set may have added records. */
    if (header->end != end) {
      __atomic_store_n(&header->in_flight, 0, __ATOMIC_SEQ_CST);
      continue;
    }
    if (padding) {
      struct rewind_buffer_record *pad = (struct rewind_buffer_record *)(ring + at);
      pad->size = padding;
      pad->number = REWIND_BUFFER_PADDING_NUMBER;
      at = 0;
    }
    struct buffered_call call = {.number = (uint64_t)nr, .arguments = {(uint64_t)a0, (uint64_t)a1, (uint64_t)a2, (uint64_t)a3, 0, 0}};
    long result = rewind_buffered_trampoline(&call);
    struct rewind_buffer_record *record = (struct rewind_buffer_record *)(ring + at);
    record->number = (uint64_t)nr;
    record->result = result;
    memcpy(record->registers, call.registers, sizeof call.registers);
    struct rewind_buffer_chunk chunks[REWIND_BUFFER_MAX_CHUNKS];
    int count = outputs_of(&call, result, chunks);
    record->chunk_count = (uint64_t)count;
    char *data = (char *)(record + 1);
    for (int i = 0; i < count; i++) {
      record->chunks[i] = chunks[i];
      memcpy(data, (const void *)(uintptr_t)chunks[i].address, chunks[i].length);
      data += padded(chunks[i].length);
    }
    record->size = (uint64_t)(data - (char *)record);
    __atomic_store_n(&header->end, end + padding + record->size, __ATOMIC_SEQ_CST);
    __atomic_store_n(&header->in_flight, 0, __ATOMIC_SEQ_CST);
    return result;
  }
}

/* Whether a read or write of `fd` cannot block: regular files and the memory devices
   (character major 1: /dev/null, /dev/zero, /dev/full, /dev/random, /dev/urandom). The
   fstat is itself a buffered call, so replay makes it too. */
static int never_blocks(int fd) {
  struct stat info;
  if (buffered(SYS_fstat, fd, (long)&info, 0, 0, sizeof info) != 0) return 0;
  if (S_ISREG(info.st_mode)) return 1;
  return S_ISCHR(info.st_mode) && major(info.st_rdev) == 1;
}

ssize_t read(int fd, void *buffer, size_t count) {
  if (count <= REWIND_BUFFER_MAX_OUTPUT && never_blocks(fd))
    return as_result(buffered(SYS_read, fd, (long)buffer, (long)count, 0, count));
  return as_result(traced(SYS_read, fd, (long)buffer, (long)count, 0, 0, 0));
}

ssize_t write(int fd, const void *buffer, size_t count) {
  if (never_blocks(fd)) return as_result(buffered(SYS_write, fd, (long)buffer, (long)count, 0, 0));
  return as_result(traced(SYS_write, fd, (long)buffer, (long)count, 0, 0, 0));
}

ssize_t pread64(int fd, void *buffer, size_t count, off_t offset) {
  if (count <= REWIND_BUFFER_MAX_OUTPUT && never_blocks(fd))
    return as_result(buffered(SYS_pread64, fd, (long)buffer, (long)count, offset, count));
  return as_result(traced(SYS_pread64, fd, (long)buffer, (long)count, offset, 0, 0));
}
ssize_t pread(int fd, void *buffer, size_t count, off_t offset) __attribute__((alias("pread64")));

ssize_t pwrite64(int fd, const void *buffer, size_t count, off_t offset) {
  if (never_blocks(fd)) return as_result(buffered(SYS_pwrite64, fd, (long)buffer, (long)count, offset, 0));
  return as_result(traced(SYS_pwrite64, fd, (long)buffer, (long)count, offset, 0, 0));
}
ssize_t pwrite(int fd, const void *buffer, size_t count, off_t offset) __attribute__((alias("pwrite64")));

off_t lseek(int fd, off_t offset, int whence) { return as_result(buffered(SYS_lseek, fd, offset, whence, 0, 0)); }
off_t lseek64(int fd, off_t offset, int whence) __attribute__((alias("lseek")));

int fstat(int fd, struct stat *info) { return (int)as_result(buffered(SYS_fstat, fd, (long)info, 0, 0, sizeof *info)); }
int fstat64(int fd, struct stat64 *info) __attribute__((alias("fstat")));

int clock_gettime(clockid_t clock, struct timespec *now) {
  return (int)as_result(buffered(SYS_clock_gettime, clock, (long)now, 0, 0, sizeof *now));
}

int gettimeofday(struct timeval *restrict now, void *restrict zone) {
  return (int)as_result(buffered(SYS_gettimeofday, (long)now, (long)zone, 0, 0, sizeof *now + 8));
}

time_t time(time_t *now) { return (time_t)buffered(SYS_time, (long)now, 0, 0, 0, sizeof *now); }

pid_t getpid(void) { return (pid_t)buffered(SYS_getpid, 0, 0, 0, 0, 0); }
pid_t gettid(void) { return (pid_t)buffered(SYS_gettid, 0, 0, 0, 0, 0); }
