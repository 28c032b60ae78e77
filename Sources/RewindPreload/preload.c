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
 * Replay without a debugger feeds the library: it puts the recorded records of a thread's
 * next buffered calls in the buffer's feed, and the library serves those calls from them
 * (after checking each call's number and registers against its record) without entering
 * the kernel, so they cost no stop.
 *
 * Everything this code decides depends only on its own memory and on results of system
 * calls, so replay makes the same decisions. A call that blocks (a read of a pipe while the
 * thread holds its memory group's turn would stall the group) is made a traced call by the
 * recorder, told by the thread's desched counter; a thread without one buffers read and
 * write only on regular files and the memory devices (/dev/null, /dev/zero...), which
 * fstat tells at each call, and no call on a path. */
#define _GNU_SOURCE
#include "../CSupport/include/rewind_buffer_abi.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
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
  /* The thread has a desched counter (a recorded call said so, so replay knows it too):
     calls that may block go through the buffer, and a block becomes a traced call. */
  int blocking_calls_buffered;
  /* The counter's descriptor number (REWIND_DESCHED_FD_FIRST downwards), and its slot. */
  int desched_fd;
  int counter_slot;
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

/* A call from the page's unrecorded instruction: no stop, nothing in the trace. */
static long unrecorded(long nr, long a0, long a1, long a2, long a3, long a4) {
  long result;
  register long r10 __asm__("r10") = a3;
  register long r8 __asm__("r8") = a4;
  register long r9 __asm__("r9") = 0;
  __asm__ volatile("call *%[target]"
                   : "=a"(result)
                   : [target] "r"(REWIND_PAGE_ADDRESS + REWIND_PAGE_UNRECORDED_OFFSET), "a"(nr), "D"(a0),
                     "S"(a1), "d"(a2), "r"(r10), "r"(r8), "r"(r9)
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
   result. Defined in assembly below.
   In a replay that has fed this thread's next calls (the header's feed_read < feed_end),
   the trampoline serves the call from its record instead, with rewind_serve_fed on a stack
   at the buffer's end, and makes it for real only if the record is not this call's. Either
   way it leaves the registers, flags and the program's stack as the call would: the code
   around it is the same in recording and replay, so later code points compare equal. */
struct buffered_call {
  uint64_t number;
  uint64_t arguments[6];
  uint64_t registers[27];
  struct rewind_buffer_header *header;
  /* Set by rewind_serve_fed, cleared by the trampoline before it returns. */
  uint64_t served;
};
#define REWIND_FEED_STACK_TOP 0x80040
#define REWIND_FEED_STACK_TOP_TEXT "0x80040"
/* The call's six argument registers, from the struct rbx points to. */
#define LOAD_ARGUMENTS                                                                            \
  "  mov 8(%rbx), %rdi\n"                                                                         \
  "  mov 16(%rbx), %rsi\n"                                                                        \
  "  mov 24(%rbx), %rdx\n"                                                                        \
  "  mov 32(%rbx), %r10\n"                                                                        \
  "  mov 40(%rbx), %r8\n"                                                                         \
  "  mov 48(%rbx), %r9\n"
long rewind_buffered_trampoline(struct buffered_call *call);
long rewind_serve_fed(struct buffered_call *call) __attribute__((visibility("hidden"), used));
__asm__(
    ".text\n"
    ".globl rewind_buffered_trampoline\n"
    ".hidden rewind_buffered_trampoline\n"
    ".type rewind_buffered_trampoline, @function\n"
    "rewind_buffered_trampoline:\n"
    /* Call frame information, so that gdb unwinds from a caught buffered call to the
       program's own frames (the served path's stack switch is never unwound: it runs only
       without a debugger). */
    "  .cfi_startproc\n"
    "  push %rbx\n"
    "  .cfi_adjust_cfa_offset 8\n"
    "  .cfi_rel_offset %rbx, 0\n"
    "  mov %rdi, %rbx\n"
    "  lea 56(%rbx), %rcx\n"
    /* user_regs_struct order: r15 r14 r13 r12 rbp rbx r11 r10 r9 r8 rax rcx rdx rsi rdi
       orig_rax rip cs eflags rsp ss fs_base gs_base ds es fs gs */
    "  mov %r15, 0(%rcx)\n"
    "  mov %r14, 8(%rcx)\n"
    "  mov %r13, 16(%rcx)\n"
    "  mov %r12, 24(%rcx)\n"
    "  mov %rbp, 32(%rcx)\n"
    "  mov %rbx, 40(%rcx)\n"
    "  movq $-38, 80(%rcx)\n" /* rax at a syscall-entry stop: -ENOSYS */
    "  lea -8(%rsp), %r11\n" /* rsp inside the page, below the call's return address */
    "  mov %r11, 152(%rcx)\n"
    "  movabs $0x70000000002, %r11\n" /* REWIND_PAGE_ADDRESS + 2: rip and rcx after it */
    "  mov %r11, 88(%rcx)\n"
    "  mov %r11, 128(%rcx)\n"
    "2:\n" /* the arguments, in the call's registers and stored */
    "  mov 0(%rbx), %rax\n"
    LOAD_ARGUMENTS
    "  lea 56(%rbx), %rcx\n"
    "  mov %r10, 56(%rcx)\n"
    "  mov %r9, 64(%rcx)\n"
    "  mov %r8, 72(%rcx)\n"
    "  mov %rdx, 96(%rcx)\n"
    "  mov %rsi, 104(%rcx)\n"
    "  mov %rdi, 112(%rcx)\n"
    "  mov %rax, 120(%rcx)\n"
    /* The flags at the call are made the same whatever ran before: a compare of equal
       values defines every arithmetic flag, and nothing after changes them up to the
       `syscall`, which copies them into r11. */
    "  cmp %r11, %r11\n"
    "  pushfq\n"
    "  pop %r11\n"
    "  mov %r11, 48(%rcx)\n"
    "  mov %r11, 144(%rcx)\n"
    "  cmpq $0, 280(%rbx)\n" /* served: set only on the way back from a record that was not this call's */
    "  jne 4f\n"
    "  mov 272(%rbx), %r11\n" /* header */
    "  mov 24(%r11), %rcx\n" /* feed_read */
    "  cmp 16(%r11), %rcx\n" /* feed_end */
    "  jb 5f\n"
    "4:\n"
    "  movq $0, 280(%rbx)\n"
    "  mov 272(%rbx), %r11\n"
    "  mov 40(%r11), %rdi\n" /* desched_fd_plus_one */
    "  test %rdi, %rdi\n"
    "  jz 8f\n"
    "  dec %rdi\n"
    "  mov $16, %eax\n" /* ioctl(counter, PERF_EVENT_IOC_ENABLE, 0), unrecorded */
    "  mov $0x2400, %esi\n"
    "  xor %edx, %edx\n"
    "  movabs $0x70000000020, %r11\n"
    "  call *%r11\n"
    "8:\n"
    "  mov 0(%rbx), %rax\n"
    LOAD_ARGUMENTS
    "  cmp %r11, %r11\n"
    "  movabs $0x70000000000, %r11\n"
    "  call *%r11\n"
    "3:\n"
    "  mov 272(%rbx), %r11\n"
    "  mov 40(%r11), %rdi\n"
    "  test %rdi, %rdi\n"
    "  jz 7f\n"
    "  dec %rdi\n"
    "  mov %rax, %r10\n" /* the result, while the counter is disarmed */
    "  mov $16, %eax\n"
    "  mov $0x2401, %esi\n" /* PERF_EVENT_IOC_DISABLE */
    "  xor %edx, %edx\n"
    "  movabs $0x70000000020, %r11\n"
    "  call *%r11\n"
    "  mov %r10, %rax\n"
    "  jmp 7f\n"
    "5:\n" /* served from the feed */
    "  lea " REWIND_FEED_STACK_TOP_TEXT "(%r11), %r11\n"
    "  mov %rsp, -8(%r11)\n"
    "  lea -16(%r11), %rsp\n"
    "  mov %rbx, %rdi\n"
    "  call rewind_serve_fed\n"
    "  mov 8(%rsp), %rsp\n"
    "  cmpq $0, 280(%rbx)\n"
    "  je 6f\n"
    "  movq $0, 280(%rbx)\n"
    /* Every way out: the registers a `syscall` leaves (its arguments, rcx the next rip,
       r11 the flags) and the same word below rsp. */
    "7:\n"
    "  lea 3b(%rip), %r11\n"
    "  mov %r11, -8(%rsp)\n"
    LOAD_ARGUMENTS
    "  movabs $0x70000000002, %rcx\n"
    "  mov 104(%rbx), %r11\n"
    "  cmp %r11, %r11\n"
    "  pop %rbx\n"
    "  .cfi_adjust_cfa_offset -8\n"
    "  .cfi_restore %rbx\n"
    "  ret\n"
    "  .cfi_adjust_cfa_offset 8\n"
    "  .cfi_rel_offset %rbx, 0\n"
    "6:\n" /* not this call's record: made for real (and replay reports the difference) */
    "  movq $1, 280(%rbx)\n"
    "  jmp 2b\n"
    "  .cfi_endproc\n"
    ".size rewind_buffered_trampoline, .-rewind_buffered_trampoline\n");

_Static_assert(REWIND_PAGE_ADDRESS == 0x70000000000ull, "the trampoline's constants");
_Static_assert(offsetof(struct buffered_call, header) == 272 && offsetof(struct buffered_call, served) == 280,
               "the trampoline's offsets");
_Static_assert(offsetof(struct rewind_buffer_header, feed_end) == 16 && offsetof(struct rewind_buffer_header, feed_read) == 24,
               "the trampoline's offsets");
_Static_assert(REWIND_FEED_STACK_TOP == REWIND_BUFFER_SIZE, "the trampoline's constants");

/* Recording only: opens this thread's desched counter as descriptor `fd`: a software
   counter of the thread's context switches, armed by the trampoline around each buffered
   call, that sends the thread REWIND_DESCHED_SIGNAL when it is switched out there (the
   call blocked). The recorder then makes the call a traced one, so that the thread does
   not hold its memory group's turn while it waits. Every call here is unrecorded. */
static void open_desched(struct rewind_buffer_header *header, int fd) {
  struct perf_event_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.size = sizeof attr;
  attr.type = PERF_TYPE_SOFTWARE;
  attr.config = PERF_COUNT_SW_CONTEXT_SWITCHES;
  attr.disabled = 1;
  attr.sample_period = 1;
  long counter = unrecorded(SYS_perf_event_open, (long)&attr, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
  /* Under its own number first: the signal names the descriptor O_ASYNC was set on. */
  if (counter >= 0 && unrecorded(SYS_dup3, counter, fd, O_CLOEXEC, 0, 0) == fd) {
    struct f_owner_ex owner = {F_OWNER_TID, (pid_t)unrecorded(SYS_gettid, 0, 0, 0, 0, 0)};
    if (unrecorded(SYS_fcntl, fd, F_SETOWN_EX, (long)&owner, 0, 0) == 0 &&
        unrecorded(SYS_fcntl, fd, F_SETSIG, REWIND_DESCHED_SIGNAL, 0, 0) == 0 &&
        unrecorded(SYS_fcntl, fd, F_SETFL, O_ASYNC, 0, 0) == 0)
      header->desched_fd_plus_one = (uint64_t)fd + 1;
    else
      unrecorded(SYS_close, fd, 0, 0, 0, 0);
  }
  if (counter >= 0) unrecorded(SYS_close, counter, 0, 0, 0, 0);
}

/* Runs fn(header), which does something only while recording (replay opens no counter),
   so that recording and replay come out of it alike: every general register and the flags
   are saved and put back, fn runs on the stack at the buffer's end (what it leaves there is
   not the program's), and in_flight is set from before until after all that, so the
   recorder steps a thread that a signal or preemption stops in between to where both
   runs are the same again. */
void rewind_recording_only(void (*fn)(struct rewind_buffer_header *), struct rewind_buffer_header *header);
__asm__(
    ".text\n"
    ".globl rewind_recording_only\n"
    ".hidden rewind_recording_only\n"
    ".type rewind_recording_only, @function\n"
    "rewind_recording_only:\n"
    "  movq $1, 8(%rsi)\n" /* in_flight */
    "  pushfq\n"
    "  push %rax\n  push %rbx\n  push %rcx\n  push %rdx\n  push %rsi\n  push %rdi\n  push %rbp\n"
    "  push %r8\n  push %r9\n  push %r10\n  push %r11\n  push %r12\n  push %r13\n  push %r14\n  push %r15\n"
    "  lea " REWIND_FEED_STACK_TOP_TEXT "(%rsi), %rax\n"
    "  mov %rsp, -8(%rax)\n"
    "  lea -16(%rax), %rsp\n"
    "  mov %rdi, %rax\n"
    "  mov %rsi, %rdi\n"
    "  call *%rax\n"
    "  mov 8(%rsp), %rsp\n"
    "  pop %r15\n  pop %r14\n  pop %r13\n  pop %r12\n  pop %r11\n  pop %r10\n  pop %r9\n  pop %r8\n"
    "  pop %rbp\n  pop %rdi\n  pop %rsi\n  pop %rdx\n  pop %rcx\n  pop %rbx\n  pop %rax\n"
    "  popfq\n"
    "  movq $0, 8(%rsi)\n"
    "  ret\n"
    ".size rewind_recording_only, .-rewind_recording_only\n");

/* A forked child has its parent thread's descriptor, for the parent's counter: it gets
   one of its own under the same number. */
static void reopen_desched(struct rewind_buffer_header *header) {
  if (!header->recording || !header->desched_fd_plus_one) return;
  header->desched_fd_plus_one = 0;
  open_desched(header, self.desched_fd);
}
static void desched_in_child(void) {
  struct rewind_buffer_header *header = (struct rewind_buffer_header *)self.buffer;
  if (header) rewind_recording_only(reopen_desched, header);
}

/* A thread's counter is closed as the thread ends (its number comes round again after 512
   threads). The key's value is the thread's buffer, in recording and replay alike, so the
   destructor runs in both; only recording has something to close. */
static pthread_key_t counter_key;
static void close_counter(struct rewind_buffer_header *header) {
  if (!header->recording || !header->desched_fd_plus_one) return;
  unrecorded(SYS_close, (long)header->desched_fd_plus_one - 1, 0, 0, 0, 0);
  header->desched_fd_plus_one = 0;
}
static uint64_t counter_slots[8]; /* 512: which numbers live threads hold */
static int take_counter_slot(void) {
  for (int i = 0; i < 512; i++) {
    uint64_t bit = (uint64_t)1 << (i % 64);
    if (!(__atomic_fetch_or(&counter_slots[i / 64], bit, __ATOMIC_SEQ_CST) & bit)) return i;
  }
  return -1;
}
static void thread_ends(void *buffer) {
  rewind_recording_only(close_counter, buffer);
  __atomic_fetch_and(&counter_slots[self.counter_slot / 64], ~((uint64_t)1 << (self.counter_slot % 64)), __ATOMIC_SEQ_CST);
}

/* A new thread's counter, unless the program has a descriptor of that number. */
static void first_desched(struct rewind_buffer_header *header) {
  if (header->recording && unrecorded(SYS_fcntl, self.desched_fd, F_GETFD, 0, 0, 0) == -EBADF)
    open_desched(header, self.desched_fd);
}

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
  memcpy((char *)page + REWIND_PAGE_UNRECORDED_OFFSET, syscall_then_return, sizeof syscall_then_return);
  if (mprotect(page, 4096, PROT_READ | PROT_EXEC) != 0) return;
  page_is_mapped = 1;
  pthread_atfork(NULL, NULL, desched_in_child);
  pthread_key_create(&counter_key, thread_ends);
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
  ((struct rewind_buffer_header *)buffer)->version = REWIND_BUFFER_VERSION;
  control(SYS_getpid, (long)buffer, REWIND_BUFFER_SIZE);
  struct rewind_buffer_header *header = (struct rewind_buffer_header *)buffer;
  /* Each live thread's counter has a number of its own, from slots taken and given back in
     the order threads start and end, which replay repeats. */
  self.counter_slot = take_counter_slot();
  if (self.counter_slot < 0) return header; /* 512 threads have one: the slow way */
  self.desched_fd = REWIND_DESCHED_FD_FIRST - self.counter_slot;
  /* (A descriptor the program has is left alone.) */
  rewind_recording_only(first_desched, header);
  pthread_setspecific(counter_key, header);
  /* Whether it has one is told by a recorded call, so replay decides the same. */
  self.blocking_calls_buffered = control(SYS_fcntl, self.desched_fd, F_GETSIG) == REWIND_DESCHED_SIGNAL;
  return header;
}

static uint64_t padded(uint64_t n) { return (n + 7) & ~(uint64_t)7; }

/* The first `most` bytes of a path, with its NUL when that is within them. */
static uint64_t path_length(uint64_t path, uint64_t most) {
  const char *end = memchr((const char *)(uintptr_t)path, 0, most);
  return end ? (uint64_t)(end - (const char *)(uintptr_t)path) + 1 : most;
}

/* What the call wrote, and what it read (REWIND_BUFFER_CHUNK_INPUT), from its number,
   arguments and result. */
static int chunks_of(const struct buffered_call *call, long result, struct rewind_buffer_chunk *chunks) {
  const uint64_t *a = call->arguments;
  int n = 0;
  switch (call->number) {
  case SYS_write:
  case SYS_pwrite64:
  case SYS_sendto:
    /* The bytes written (the kernel read that many: they are readable). */
    if (result > 0)
      chunks[n++] = (struct rewind_buffer_chunk){a[1], ((uint64_t)result < REWIND_BUFFER_MAX_INPUT ? (uint64_t)result : REWIND_BUFFER_MAX_INPUT) | REWIND_BUFFER_CHUNK_INPUT};
    return n;
  case SYS_newfstatat:
  case SYS_statx:
    /* The path, unless the kernel could not read it. */
    if (result != -EFAULT) chunks[n++] = (struct rewind_buffer_chunk){a[1], path_length(a[1], REWIND_BUFFER_MAX_INPUT) | REWIND_BUFFER_CHUNK_INPUT};
    break;
  default:
    break;
  }
  if (result < 0 && result > -4096) return n;
  switch (call->number) {
  case SYS_read:
  case SYS_pread64:
  case SYS_recvfrom: /* (buffered without an address only) */
    if (result == 0) return n;
    chunks[n++] = (struct rewind_buffer_chunk){a[1], (uint64_t)result};
    return n;
  case SYS_fstat:
    chunks[n++] = (struct rewind_buffer_chunk){a[1], sizeof(struct stat)};
    return n;
  case SYS_poll: /* every revents, zeroed or set */
    if (a[1]) chunks[n++] = (struct rewind_buffer_chunk){a[0], a[1] * sizeof(struct pollfd)};
    return n;
  case SYS_newfstatat:
    chunks[n++] = (struct rewind_buffer_chunk){a[2], sizeof(struct stat)};
    return n;
  case SYS_statx:
    chunks[n++] = (struct rewind_buffer_chunk){a[4], sizeof(struct statx)};
    return n;
  case SYS_clock_gettime:
    chunks[n++] = (struct rewind_buffer_chunk){a[1], sizeof(struct timespec)};
    return n;
  case SYS_gettimeofday:
    if (a[0]) chunks[n++] = (struct rewind_buffer_chunk){a[0], sizeof(struct timeval)};
    if (a[1]) chunks[n++] = (struct rewind_buffer_chunk){a[1], 8};
    return n;
  case SYS_time:
    if (!a[0]) return n;
    chunks[n++] = (struct rewind_buffer_chunk){a[0], sizeof(time_t)};
    return n;
  default:
    return n;
  }
}

static uint64_t chunk_length(struct rewind_buffer_chunk chunk) { return chunk.length & ~REWIND_BUFFER_CHUNK_INPUT; }

/* The record the replayer has fed for this thread's next buffered call, if any. */
static const struct rewind_buffer_record *fed_record(struct rewind_buffer_header *header) {
  uint64_t read = header->feed_read;
  if (read >= header->feed_end || header->feed_end > REWIND_BUFFER_FEED_SIZE - REWIND_BUFFER_FEED_STACK) return NULL;
  const struct rewind_buffer_record *fed = (const struct rewind_buffer_record *)((char *)header + REWIND_BUFFER_FEED + read);
  if (fed->size < sizeof *fed || read + fed->size > header->feed_end) return NULL;
  return fed;
}

/* Whether the call about to be made is the fed one: the register words the trampoline
   stores, as replay compares them at a stop (rax aside; eflags without RF and TF). */
static int is_fed_call(const struct rewind_buffer_record *fed, const struct buffered_call *call) {
  if (fed->number != call->number) return 0;
  for (int i = 0; i <= 19; i++) {
    if (i == 10 || i == 17) continue; /* rax, cs */
    uint64_t mask = i == 18 ? ~(uint64_t)0x10100 : ~(uint64_t)0;
    if ((fed->registers[i] & mask) != (call->registers[i] & mask)) return 0;
  }
  /* And what it reads (a write's bytes, a path) is what the recorded call read. */
  const char *data = (const char *)(fed + 1);
  for (uint64_t i = 0; i < fed->chunk_count && i < REWIND_BUFFER_MAX_CHUNKS; i++) {
    uint64_t length = chunk_length(fed->chunks[i]);
    if ((fed->chunks[i].length & REWIND_BUFFER_CHUNK_INPUT) && memcmp((const void *)(uintptr_t)fed->chunks[i].address, data, length) != 0)
      return 0;
    data += padded(length);
  }
  return 1;
}

/* Writes what the fed call wrote and gives its result. */
static long serve(const struct rewind_buffer_record *fed) {
  const char *data = (const char *)(fed + 1);
  for (uint64_t i = 0; i < fed->chunk_count && i < REWIND_BUFFER_MAX_CHUNKS; i++) {
    uint64_t length = chunk_length(fed->chunks[i]);
    if (!(fed->chunks[i].length & REWIND_BUFFER_CHUNK_INPUT)) memcpy((void *)(uintptr_t)fed->chunks[i].address, data, length);
    data += padded(length);
  }
  return fed->result;
}

/* The trampoline's replay path, on the buffer's own stack: serves the call from the fed
   record if it is this call's (number and registers). */
long rewind_serve_fed(struct buffered_call *call) {
  const struct rewind_buffer_record *fed = fed_record(call->header);
  if (!fed || !is_fed_call(fed, call)) return 0;
  long result = serve(fed);
  call->header->feed_read += fed->size;
  call->served = 1;
  return result;
}

/* Performs the call through the buffer, or the slow way when this thread has none or its
   output could exceed REWIND_BUFFER_MAX_OUTPUT (`max_output`: what it may write, and
   REWIND_BUFFER_MAX_INPUT more for what it reads). Returns the raw result (-errno). */
static long buffered5(long nr, long a0, long a1, long a2, long a3, long a4, uint64_t max_output) {
  struct rewind_buffer_header *header = max_output <= REWIND_BUFFER_MAX_OUTPUT + REWIND_BUFFER_MAX_INPUT ? thread_buffer() : NULL;
  if (!header) return traced(nr, a0, a1, a2, a3, a4, 0);
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
    struct buffered_call call = {
        .number = (uint64_t)nr, .arguments = {(uint64_t)a0, (uint64_t)a1, (uint64_t)a2, (uint64_t)a3, (uint64_t)a4, 0}, .header = header};
    long result = rewind_buffered_trampoline(&call);
    struct rewind_buffer_record *record = (struct rewind_buffer_record *)(ring + at);
    record->number = (uint64_t)nr;
    record->result = result;
    memcpy(record->registers, call.registers, sizeof call.registers);
    struct rewind_buffer_chunk chunks[REWIND_BUFFER_MAX_CHUNKS];
    int count = chunks_of(&call, result, chunks);
    record->chunk_count = (uint64_t)count;
    char *data = (char *)(record + 1);
    for (int i = 0; i < count; i++) {
      record->chunks[i] = chunks[i];
      memcpy(data, (const void *)(uintptr_t)chunks[i].address, chunk_length(chunks[i]));
      data += padded(chunk_length(chunks[i]));
    }
    record->size = (uint64_t)(data - (char *)record);
    __atomic_store_n(&header->end, end + padding + record->size, __ATOMIC_SEQ_CST);
    __atomic_store_n(&header->in_flight, 0, __ATOMIC_SEQ_CST);
    return result;
  }
}

static long buffered(long nr, long a0, long a1, long a2, long a3, uint64_t max_output) {
  return buffered5(nr, a0, a1, a2, a3, 0, max_output);
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

/* Whether calls that may block go through the buffer: only with a desched counter, which
   makes one that blocks a traced call. */
static int blocking_calls_buffered(void) { return thread_buffer() && self.blocking_calls_buffered; }

/* Whether a call on `fd` may go through the buffer: with a desched counter any may (one
   that blocks becomes a traced call); without, only those that cannot block. */
static int may_buffer(int fd) { return blocking_calls_buffered() || never_blocks(fd); }

ssize_t read(int fd, void *buffer, size_t count) {
  if (count <= REWIND_BUFFER_MAX_OUTPUT && may_buffer(fd))
    return as_result(buffered(SYS_read, fd, (long)buffer, (long)count, 0, count));
  return as_result(traced(SYS_read, fd, (long)buffer, (long)count, 0, 0, 0));
}

ssize_t write(int fd, const void *buffer, size_t count) {
  if (may_buffer(fd)) return as_result(buffered(SYS_write, fd, (long)buffer, (long)count, 0, REWIND_BUFFER_MAX_INPUT));
  return as_result(traced(SYS_write, fd, (long)buffer, (long)count, 0, 0, 0));
}

ssize_t pread64(int fd, void *buffer, size_t count, off_t offset) {
  if (count <= REWIND_BUFFER_MAX_OUTPUT && may_buffer(fd))
    return as_result(buffered(SYS_pread64, fd, (long)buffer, (long)count, offset, count));
  return as_result(traced(SYS_pread64, fd, (long)buffer, (long)count, offset, 0, 0));
}
ssize_t pread(int fd, void *buffer, size_t count, off_t offset) __attribute__((alias("pread64")));

ssize_t pwrite64(int fd, const void *buffer, size_t count, off_t offset) {
  if (may_buffer(fd)) return as_result(buffered(SYS_pwrite64, fd, (long)buffer, (long)count, offset, REWIND_BUFFER_MAX_INPUT));
  return as_result(traced(SYS_pwrite64, fd, (long)buffer, (long)count, offset, 0, 0));
}
ssize_t pwrite(int fd, const void *buffer, size_t count, off_t offset) __attribute__((alias("pwrite64")));

off_t lseek(int fd, off_t offset, int whence) { return as_result(buffered(SYS_lseek, fd, offset, whence, 0, 0)); }
off_t lseek64(int fd, off_t offset, int whence) __attribute__((alias("lseek")));

/* Calls on a path go through the buffer only with a desched counter: a path can be on a
   file system that blocks (NFS, FUSE). */
int fstatat(int directory, const char *restrict path, struct stat *restrict info, int flags) {
  if (blocking_calls_buffered())
    return (int)as_result(buffered(SYS_newfstatat, directory, (long)path, (long)info, flags, sizeof *info + REWIND_BUFFER_MAX_INPUT));
  return (int)as_result(traced(SYS_newfstatat, directory, (long)path, (long)info, flags, 0, 0));
}
int fstatat64(int directory, const char *restrict path, struct stat64 *restrict info, int flags) __attribute__((alias("fstatat")));
int stat(const char *restrict path, struct stat *restrict info) { return fstatat(AT_FDCWD, path, info, 0); }
int stat64(const char *restrict path, struct stat64 *restrict info) __attribute__((alias("stat")));
int lstat(const char *restrict path, struct stat *restrict info) { return fstatat(AT_FDCWD, path, info, AT_SYMLINK_NOFOLLOW); }
int lstat64(const char *restrict path, struct stat64 *restrict info) __attribute__((alias("lstat")));
int statx(int directory, const char *restrict path, int flags, unsigned int mask, struct statx *restrict info) {
  if (blocking_calls_buffered())
    return (int)as_result(buffered5(SYS_statx, directory, (long)path, flags, mask, (long)info, sizeof *info + REWIND_BUFFER_MAX_INPUT));
  return (int)as_result(traced(SYS_statx, directory, (long)path, flags, mask, (long)info, 0));
}

/* Waits and socket transfers, with a desched counter (they block when nothing is ready):
   poll writes its array, recv and recvfrom without an address the bytes received; send and
   sendto without an address keep the bytes sent. Not epoll_wait: the kernel never restarts
   it after a stop signal, so the counter's SIGSTOP would make it fail with EINTR (telling
   that EINTR from one a handler caused needs more than the pending signals: a handler may
   already have run). */
int poll(struct pollfd *fds, nfds_t count, int timeout) {
  if (count <= REWIND_BUFFER_MAX_OUTPUT / sizeof *fds && blocking_calls_buffered())
    return (int)as_result(buffered(SYS_poll, (long)fds, (long)count, timeout, 0, count * sizeof *fds));
  return (int)as_result(traced(SYS_poll, (long)fds, (long)count, timeout, 0, 0, 0));
}

ssize_t recvfrom(int fd, void *restrict buffer, size_t count, int flags, struct sockaddr *restrict from, socklen_t *restrict length) {
  if (!from && count <= REWIND_BUFFER_MAX_OUTPUT && blocking_calls_buffered())
    return as_result(buffered(SYS_recvfrom, fd, (long)buffer, (long)count, flags, count));
  return as_result(traced(SYS_recvfrom, fd, (long)buffer, (long)count, flags, (long)from, (long)length));
}
ssize_t recv(int fd, void *buffer, size_t count, int flags) { return recvfrom(fd, buffer, count, flags, NULL, NULL); }

ssize_t sendto(int fd, const void *buffer, size_t count, int flags, const struct sockaddr *to, socklen_t length) {
  if (!to && blocking_calls_buffered()) return as_result(buffered(SYS_sendto, fd, (long)buffer, (long)count, flags, REWIND_BUFFER_MAX_INPUT));
  return as_result(traced(SYS_sendto, fd, (long)buffer, (long)count, flags, (long)to, length));
}
ssize_t send(int fd, const void *buffer, size_t count, int flags) { return sendto(fd, buffer, count, flags, NULL, 0); }

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
