/* Two threads run a loop (written at run time) whose every pass calls a function that sees
   exactly the same registers and the same stack: the loop keeps its counter in a frame on
   the heap, as CPython keeps a Python loop's state in heap frames and objects, and passes
   the frame's address in rbx, the same at every pass; the function's instructions use no
   memory. Recording preempts the threads mostly inside that function, where only the memory
   a register points to (the counter in the frame) tells one pass from another. Replay
   matched such a point at the first pass with those registers and that stack, a wrong one,
   so the threads' increments of a shared counter interleaved otherwise and each thread's
   final view of it differed; the memory the registers point to is now part of the point's
   signature (ReachedMemory). Prints each thread's view of the shared counter when it
   finished. With "below", the frame lies below where rbx points (see code_below_head). */
#include "fixture.h"
#include <pthread.h>

/* long loop(long n, long *shared, long *frame): n passes, each calling `body` with cleared
   registers but rbx (the frame) and adding one to *shared; frame[0] is the counter, frame[1]
   n and frame[2] shared. Returns *shared at the end. */
static const unsigned char code[] = {
    0x55,                                     /* 00 push %rbp */
    0x48, 0x89, 0xe5,                         /* 01 mov %rsp,%rbp */
    0x53,                                     /* 04 push %rbx */
    0x48, 0x83, 0xec, 0x08,                   /* 05 sub $0x8,%rsp */
    0x48, 0x89, 0xd3,                         /* 09 mov %rdx,%rbx: the frame */
    0x48, 0x89, 0x7b, 0x08,                   /* 0c mov %rdi,0x8(%rbx): n */
    0x48, 0x89, 0x73, 0x10,                   /* 10 mov %rsi,0x10(%rbx): shared */
    0x48, 0xc7, 0x03, 0x00, 0x00, 0x00, 0x00, /* 14 movq $0,(%rbx): the counter */
    0x31, 0xc0,                               /* 1b xor %eax,%eax */
    0x31, 0xc9,                               /* 1d xor %ecx,%ecx */
    0x31, 0xd2,                               /* 1f xor %edx,%edx */
    0x31, 0xf6,                               /* 21 xor %esi,%esi */
    0x31, 0xff,                               /* 23 xor %edi,%edi */
    0x45, 0x31, 0xc0,                         /* 25 xor %r8d,%r8d */
    0x45, 0x31, 0xc9,                         /* 28 xor %r9d,%r9d */
    0x45, 0x31, 0xd2,                         /* 2b xor %r10d,%r10d */
    0x45, 0x31, 0xdb,                         /* 2e xor %r11d,%r11d */
    0xe8, 0x27, 0x00, 0x00, 0x00,             /* 31 call 5d (body) */
    0x48, 0x8b, 0x43, 0x10,                   /* 36 mov 0x10(%rbx),%rax */
    0xf0, 0x48, 0x83, 0x00, 0x01,             /* 3a lock addq $1,(%rax) */
    0x48, 0x8b, 0x03,                         /* 3f mov (%rbx),%rax */
    0x48, 0x83, 0xc0, 0x01,                   /* 42 add $1,%rax */
    0x48, 0x89, 0x03,                         /* 46 mov %rax,(%rbx) */
    0x48, 0x3b, 0x43, 0x08,                   /* 49 cmp 0x8(%rbx),%rax */
    0x7c, 0xcc,                               /* 4d jl 1b */
    0x48, 0x8b, 0x43, 0x10,                   /* 4f mov 0x10(%rbx),%rax */
    0x48, 0x8b, 0x00,                         /* 53 mov (%rax),%rax */
    0x48, 0x83, 0xc4, 0x08,                   /* 56 add $0x8,%rsp */
    0x5b,                                     /* 5a pop %rbx */
    0x5d,                                     /* 5b pop %rbp */
    0xc3,                                     /* 5c ret */
    0x83, 0xc0, 0x01, /* 5d add $1,%eax */
    0x83, 0xc0, 0x01, /* 60 add $1,%eax */
    0x83, 0xc0, 0x01, /* 63 add $1,%eax */
    0x83, 0xc0, 0x01, /* 66 add $1,%eax */
    0x83, 0xc0, 0x01, /* 69 add $1,%eax */
    0x83, 0xc0, 0x01, /* 6c add $1,%eax */
    0x83, 0xc0, 0x01, /* 6f add $1,%eax */
    0x83, 0xc0, 0x01, /* 72 add $1,%eax */
    0x83, 0xc0, 0x01, /* 75 add $1,%eax */
    0x83, 0xc0, 0x01, /* 78 add $1,%eax */
    0x83, 0xc0, 0x01, /* 7b add $1,%eax */
    0x83, 0xc0, 0x01, /* 7e add $1,%eax */
    0x83, 0xc0, 0x01, /* 81 add $1,%eax */
    0x83, 0xc0, 0x01, /* 84 add $1,%eax */
    0x83, 0xc0, 0x01, /* 87 add $1,%eax */
    0x83, 0xc0, 0x01, /* 8a add $1,%eax */
    0x83, 0xc0, 0x01, /* 8d add $1,%eax */
    0x83, 0xc0, 0x01, /* 90 add $1,%eax */
    0x83, 0xc0, 0x01, /* 93 add $1,%eax */
    0x83, 0xc0, 0x01, /* 96 add $1,%eax */
    0x83, 0xc0, 0x01, /* 99 add $1,%eax */
    0x83, 0xc0, 0x01, /* 9c add $1,%eax */
    0x83, 0xc0, 0x01, /* 9f add $1,%eax */
    0x83, 0xc0, 0x01, /* a2 add $1,%eax */
    0x83, 0xc0, 0x01, /* a5 add $1,%eax */
    0x83, 0xc0, 0x01, /* a8 add $1,%eax */
    0x83, 0xc0, 0x01, /* ab add $1,%eax */
    0x83, 0xc0, 0x01, /* ae add $1,%eax */
    0x83, 0xc0, 0x01, /* b1 add $1,%eax */
    0x83, 0xc0, 0x01, /* b4 add $1,%eax */
    0x83, 0xc0, 0x01, /* b7 add $1,%eax */
    0x83, 0xc0, 0x01, /* ba add $1,%eax */
    0x83, 0xc0, 0x01, /* bd add $1,%eax */
    0x83, 0xc0, 0x01, /* c0 add $1,%eax */
    0x83, 0xc0, 0x01, /* c3 add $1,%eax */
    0x83, 0xc0, 0x01, /* c6 add $1,%eax */
    0x83, 0xc0, 0x01, /* c9 add $1,%eax */
    0x83, 0xc0, 0x01, /* cc add $1,%eax */
    0x83, 0xc0, 0x01, /* cf add $1,%eax */
    0x83, 0xc0, 0x01, /* d2 add $1,%eax */
    0xc3, /* d5 ret */
};

/* The same loop with rbx past the frame's end, as an interpreter's stack pointer points past
   the values it works on: the counter at -0x20(%rbx), n at -0x18, shared at -0x10 (argv[2]
   "below"). The memory from where rbx points on never changes. */
static const unsigned char code_below_head[] = {
    0x55,                                           /* 00 push %rbp */
    0x48, 0x89, 0xe5,                               /* 01 mov %rsp,%rbp */
    0x53,                                           /* 04 push %rbx */
    0x48, 0x83, 0xec, 0x08,                         /* 05 sub $0x8,%rsp */
    0x48, 0x89, 0xd3,                               /* 09 mov %rdx,%rbx */
    0x48, 0x89, 0x7b, 0xe8,                         /* 0c mov %rdi,-0x18(%rbx) */
    0x48, 0x89, 0x73, 0xf0,                         /* 10 mov %rsi,-0x10(%rbx) */
    0x48, 0xc7, 0x43, 0xe0, 0x00, 0x00, 0x00, 0x00, /* 14 movq $0,-0x20(%rbx) */
    0x31, 0xc0,                                     /* 1c xor %eax,%eax */
    0x31, 0xc9,                                     /* 1e xor %ecx,%ecx */
    0x31, 0xd2,                                     /* 20 xor %edx,%edx */
    0x31, 0xf6,                                     /* 22 xor %esi,%esi */
    0x31, 0xff,                                     /* 24 xor %edi,%edi */
    0x45, 0x31, 0xc0,                               /* 26 xor %r8d,%r8d */
    0x45, 0x31, 0xc9,                               /* 29 xor %r9d,%r9d */
    0x45, 0x31, 0xd2,                               /* 2c xor %r10d,%r10d */
    0x45, 0x31, 0xdb,                               /* 2f xor %r11d,%r11d */
    0xe8, 0x29, 0x00, 0x00, 0x00,                   /* 32 call 60 (body) */
    0x48, 0x8b, 0x43, 0xf0,                         /* 37 mov -0x10(%rbx),%rax */
    0xf0, 0x48, 0x83, 0x00, 0x01,                   /* 3b lock addq $1,(%rax) */
    0x48, 0x8b, 0x43, 0xe0,                         /* 40 mov -0x20(%rbx),%rax */
    0x48, 0x83, 0xc0, 0x01,                         /* 44 add $1,%rax */
    0x48, 0x89, 0x43, 0xe0,                         /* 48 mov %rax,-0x20(%rbx) */
    0x48, 0x3b, 0x43, 0xe8,                         /* 4c cmp -0x18(%rbx),%rax */
    0x7c, 0xca,                                     /* 50 jl 1c */
    0x48, 0x8b, 0x43, 0xf0,                         /* 52 mov -0x10(%rbx),%rax */
    0x48, 0x8b, 0x00,                               /* 56 mov (%rax),%rax */
    0x48, 0x83, 0xc4, 0x08,                         /* 59 add $0x8,%rsp */
    0x5b,                                           /* 5d pop %rbx */
    0x5d,                                           /* 5e pop %rbp */
    0xc3,                                           /* 5f ret */
};

typedef long (*loop_function)(long n, long *shared, long *frame);

static loop_function loop;
static long passes;
static long shared;

struct thread_state {
  long *frame;
  long seen;
};

static void *run(void *arg) {
  struct thread_state *state = arg;
  state->seen = loop(passes, &shared, state->frame);
  return NULL;
}

int main(int argc, char **argv) {
  passes = argc > 1 ? atol(argv[1]) : 5000000;
  int below = argc > 2 && strcmp(argv[2], "below") == 0;
  if (below) {
    /* The head above, then the same body (from offset 5d of `code`) at 60. */
    unsigned char joined[sizeof code_below_head + sizeof code - 0x5d];
    memcpy(joined, code_below_head, sizeof code_below_head);
    memcpy(joined + sizeof code_below_head, code + 0x5d, sizeof code - 0x5d);
    loop = (loop_function)jit_code(joined, sizeof joined);
  } else {
    loop = (loop_function)jit_code(code, sizeof code);
  }
  pthread_t threads[2];
  struct thread_state states[2];
  for (int i = 0; i < 2; i++) {
    states[i].frame = calloc(8, sizeof(long));
    check(states[i].frame != NULL);
    if (below) states[i].frame += 4;
  }
  for (int i = 0; i < 2; i++) check(pthread_create(&threads[i], NULL, run, &states[i]) == 0);
  for (int i = 0; i < 2; i++) check(pthread_join(threads[i], NULL) == 0);
  for (int i = 0; i < 2; i++) printf("thread %d: shared counter %ld when it finished\n", i, states[i].seen);
  check(shared == 2 * passes);
  printf("EXIT-SUCCESS\n");
  return 0;
}
