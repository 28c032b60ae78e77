/* What the in-tracee system call buffer (Sources/RewindPreload) and the recorder agree on.
   Included by both; the preload library must not link CSupport. */
#ifndef REWIND_BUFFER_ABI_H
#define REWIND_BUFFER_ABI_H

#include <stdint.h>

/* The page the library maps in every process it is loaded into. A call whose `syscall`
   instruction is the one at REWIND_PAGE_ADDRESS runs without a stop (the recording's
   seccomp filter lets it through); the one at REWIND_PAGE_CONTROL_OFFSET is an ordinary,
   traced call the recorder recognizes (a thread registering its buffer). Below the default
   mmap area and above any ordinary executable's image. */
#define REWIND_PAGE_ADDRESS 0x70000000000ull
#define REWIND_PAGE_BUFFERED_OFFSET 0
#define REWIND_PAGE_CONTROL_OFFSET 16
/* A call from here runs without a stop and is never recorded: the library's own business
   with the kernel (its desched counter), which replay skips. */
#define REWIND_PAGE_UNRECORDED_OFFSET 32
/* The signal the desched counter sends its thread when the thread is switched out inside a
   buffered call (it blocked): one no program can block or handle, which the recorder tells
   from others by its siginfo (si_code POLL_IN, si_fd the counter's descriptor). */
#define REWIND_DESCHED_SIGNAL 19 /* SIGSTOP */
/* The descriptor numbers the desched counters get, downwards, one per thread: the same in
   recording and replay (the library passes them to recorded calls). */
#define REWIND_DESCHED_FD_FIRST 1000
/* Where each of those `syscall` instructions ends: the rip of its calls, which the filter
   and the recorder and replayer go by. (Spelled out: Swift imports plain numbers only.) */
#define REWIND_BUFFERED_CALL_END 0x70000000002ull
#define REWIND_CONTROL_CALL_END 0x70000000012ull
#define REWIND_UNRECORDED_CALL_END 0x70000000022ull
_Static_assert(REWIND_BUFFERED_CALL_END == REWIND_PAGE_ADDRESS + REWIND_PAGE_BUFFERED_OFFSET + 2 &&
                   REWIND_CONTROL_CALL_END == REWIND_PAGE_ADDRESS + REWIND_PAGE_CONTROL_OFFSET + 2 &&
                   REWIND_UNRECORDED_CALL_END == REWIND_PAGE_ADDRESS + REWIND_PAGE_UNRECORDED_OFFSET + 2,
               "the page's instructions");
/* What a parked tracee passes in rdi to pause() so that the filter lets it wait untraced
   while it moves to another tracer thread (no tracer: a traced call would fail ENOSYS). */
#define REWIND_PARKED_PAUSE_MAGIC 0x7265776e64706175ull

/* Each thread's buffer starts with this header; a ring of records follows at
   REWIND_BUFFER_RECORDS, REWIND_BUFFER_RING bytes long. */
struct rewind_buffer_header {
  /* Bytes of records ever committed: the next record goes at end % REWIND_BUFFER_RING. The
     recorder keeps how far it has read; the library keeps (in its own memory) where `end`
     was at its last traced call, at whose stop the recorder read everything before it, and
     makes a traced call before it would write over a byte not yet read. */
  uint64_t end;
  /* Nonzero from before a buffered call's `syscall` until its record is committed: a
     signal arriving then is held by the recorder until the record is in. */
  uint64_t in_flight;
  /* Replay only (0 while recording, when nobody writes them): the replayer puts the records
     of the thread's next buffered calls in the feed, REWIND_BUFFER_FEED bytes in, up to
     `feed_end`; the library serves each call from the record at `feed_read` (its number and
     registers must be the call's) instead of entering the kernel, and moves `feed_read`
     past it. With the feed used up, a buffered call stops under PTRACE_SYSEMU as any. */
  uint64_t feed_end;
  uint64_t feed_read;
  /* REWIND_BUFFER_VERSION, written by the library as it makes the buffer: replay feeds only
     a library that reads the feed. */
  uint64_t version;
  /* The desched counter's descriptor + 1 while recording, if the thread has one (0 in
     replay, which never arms it): the trampoline arms it around each call. */
  uint64_t desched_fd_plus_one;
  /* Set by the recorder when the thread announces its buffer: only then does the library
     open a counter (its calls for that are unrecorded; replay, and a program run with the
     library outside rewind, have none). */
  uint64_t recording;
  uint64_t reserved[1];
};
#define REWIND_BUFFER_VERSION 1
#define REWIND_BUFFER_RECORDS 64
#define REWIND_BUFFER_RING (256 * 1024)
#define REWIND_BUFFER_FEED (REWIND_BUFFER_RECORDS + REWIND_BUFFER_RING)
/* As large as the ring: a thread's buffered calls between two of its traced calls fit in
   the ring, so they fit in the feed. Never touched while recording (no memory). */
#define REWIND_BUFFER_FEED_SIZE (256 * 1024)
/* The feed's last bytes are the stack the library serves fed calls on (the buffer's end is
   its top), so that serving leaves nothing on the program's stack a recording did not. */
#define REWIND_BUFFER_FEED_STACK (16 * 1024)
#define REWIND_BUFFER_SIZE (REWIND_BUFFER_FEED + REWIND_BUFFER_FEED_SIZE)
#define REWIND_BUFFER_MAX_CHUNKS 2
/* The largest output a buffered call may copy into its record; larger calls take the slow
   path. */
#define REWIND_BUFFER_MAX_OUTPUT 4096
/* At most this much of what a call reads (a write's bytes, a path) goes in its record, for
   `rewind dump` and replay's divergence checks; a longer write keeps its first bytes. */
#define REWIND_BUFFER_MAX_INPUT 4096
/* Set in a chunk's length when its bytes are what the call read, not what it wrote: the
   recorder makes them the event's inputs, and replay's feed compares them with the call's
   memory instead of writing them. */
#define REWIND_BUFFER_CHUNK_INPUT 0x8000000000000000ull
/* A record's result when it only fills the ring's end (the next record starts over at 0). */
#define REWIND_BUFFER_PADDING_NUMBER 0xffffffffffffffffull

struct rewind_buffer_chunk {
  uint64_t address;
  uint64_t length;
};

/* One buffered call. `registers` are the words of struct user_regs_struct as they were at
   the `syscall` instruction (the segment and fs/gs base words are left 0: the recorder
   fills them from the thread). The chunks' bytes follow the record, in order, each padded
   to 8 bytes: what the call wrote, and (REWIND_BUFFER_CHUNK_INPUT) what it read. */
struct rewind_buffer_record {
  uint64_t size; /* of the whole record, a multiple of 8 */
  /* The call's number (orig_rax), or REWIND_BUFFER_PADDING_NUMBER. */
  uint64_t number;
  int64_t result;
  uint64_t registers[27];
  uint64_t chunk_count;
  struct rewind_buffer_chunk chunks[REWIND_BUFFER_MAX_CHUNKS];
};

#endif
