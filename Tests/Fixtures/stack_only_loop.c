/* Two threads run a loop (written at run time) whose every pass calls a function that sees
   exactly the same registers: the loop clears them before the call and keeps its counter in
   its stack frame, as an interpreter keeps a loop's variables, and the function's
   instructions use no memory. Recording preempts the threads mostly inside that function,
   where only the stack above rsp (the caller's counter) tells one pass from another. Replay
   matched such a point at the first pass with those registers, a wrong one, so the threads'
   increments of a shared counter interleaved otherwise and each thread's final view of it
   differed; the recorded stack is now part of the point's signature. Prints each thread's
   view of the shared counter when it finished. */
#include "fixture.h"
#include <pthread.h>

/* long loop(long n, long *shared): n passes, each calling `body` with cleared registers and
   adding one to *shared; returns *shared at the end. */
static const unsigned char code[] = {
    0x55,                                           /* 00 push %rbp */
    0x48, 0x89, 0xe5,                               /* 01 mov %rsp,%rbp */
    0x48, 0x83, 0xec, 0x20,                         /* 04 sub $0x20,%rsp */
    0x48, 0x89, 0x7c, 0x24, 0x08,                   /* 08 mov %rdi,0x8(%rsp): n */
    0x48, 0x89, 0x74, 0x24, 0x10,                   /* 0d mov %rsi,0x10(%rsp): shared */
    0x48, 0xc7, 0x04, 0x24, 0x00, 0x00, 0x00, 0x00, /* 12 movq $0,(%rsp): the counter */
    0x31, 0xc0,                                     /* 1a xor %eax,%eax */
    0x31, 0xc9,                                     /* 1c xor %ecx,%ecx */
    0x31, 0xd2,                                     /* 1e xor %edx,%edx */
    0x31, 0xf6,                                     /* 20 xor %esi,%esi */
    0x31, 0xff,                                     /* 22 xor %edi,%edi */
    0x45, 0x31, 0xc0,                               /* 24 xor %r8d,%r8d */
    0x45, 0x31, 0xc9,                               /* 27 xor %r9d,%r9d */
    0x45, 0x31, 0xd2,                               /* 2a xor %r10d,%r10d */
    0x45, 0x31, 0xdb,                               /* 2d xor %r11d,%r11d */
    0xe8, 0x27, 0x00, 0x00, 0x00,                   /* 30 call 5c (body) */
    0x48, 0x8b, 0x44, 0x24, 0x10,                   /* 35 mov 0x10(%rsp),%rax */
    0xf0, 0x48, 0x83, 0x00, 0x01,                   /* 3a lock addq $1,(%rax) */
    0x48, 0x8b, 0x04, 0x24,                         /* 3f mov (%rsp),%rax */
    0x48, 0x83, 0xc0, 0x01,                         /* 43 add $1,%rax */
    0x48, 0x89, 0x04, 0x24,                         /* 47 mov %rax,(%rsp) */
    0x48, 0x3b, 0x44, 0x24, 0x08,                   /* 4b cmp 0x8(%rsp),%rax */
    0x7c, 0xc8,                                     /* 50 jl 1a */
    0x48, 0x8b, 0x44, 0x24, 0x10,                   /* 52 mov 0x10(%rsp),%rax */
    0x48, 0x8b, 0x00,                               /* 57 mov (%rax),%rax */
    0xc9,                                           /* 5a leave */
    0xc3,                                           /* 5b ret */
    0x83, 0xc0, 0x01, /* 5c add $1,%eax */
    0x83, 0xc0, 0x01, /* 5f add $1,%eax */
    0x83, 0xc0, 0x01, /* 62 add $1,%eax */
    0x83, 0xc0, 0x01, /* 65 add $1,%eax */
    0x83, 0xc0, 0x01, /* 68 add $1,%eax */
    0x83, 0xc0, 0x01, /* 6b add $1,%eax */
    0x83, 0xc0, 0x01, /* 6e add $1,%eax */
    0x83, 0xc0, 0x01, /* 71 add $1,%eax */
    0x83, 0xc0, 0x01, /* 74 add $1,%eax */
    0x83, 0xc0, 0x01, /* 77 add $1,%eax */
    0x83, 0xc0, 0x01, /* 7a add $1,%eax */
    0x83, 0xc0, 0x01, /* 7d add $1,%eax */
    0x83, 0xc0, 0x01, /* 80 add $1,%eax */
    0x83, 0xc0, 0x01, /* 83 add $1,%eax */
    0x83, 0xc0, 0x01, /* 86 add $1,%eax */
    0x83, 0xc0, 0x01, /* 89 add $1,%eax */
    0x83, 0xc0, 0x01, /* 8c add $1,%eax */
    0x83, 0xc0, 0x01, /* 8f add $1,%eax */
    0x83, 0xc0, 0x01, /* 92 add $1,%eax */
    0x83, 0xc0, 0x01, /* 95 add $1,%eax */
    0x83, 0xc0, 0x01, /* 98 add $1,%eax */
    0x83, 0xc0, 0x01, /* 9b add $1,%eax */
    0x83, 0xc0, 0x01, /* 9e add $1,%eax */
    0x83, 0xc0, 0x01, /* a1 add $1,%eax */
    0x83, 0xc0, 0x01, /* a4 add $1,%eax */
    0x83, 0xc0, 0x01, /* a7 add $1,%eax */
    0x83, 0xc0, 0x01, /* aa add $1,%eax */
    0x83, 0xc0, 0x01, /* ad add $1,%eax */
    0x83, 0xc0, 0x01, /* b0 add $1,%eax */
    0x83, 0xc0, 0x01, /* b3 add $1,%eax */
    0x83, 0xc0, 0x01, /* b6 add $1,%eax */
    0x83, 0xc0, 0x01, /* b9 add $1,%eax */
    0x83, 0xc0, 0x01, /* bc add $1,%eax */
    0x83, 0xc0, 0x01, /* bf add $1,%eax */
    0x83, 0xc0, 0x01, /* c2 add $1,%eax */
    0x83, 0xc0, 0x01, /* c5 add $1,%eax */
    0x83, 0xc0, 0x01, /* c8 add $1,%eax */
    0x83, 0xc0, 0x01, /* cb add $1,%eax */
    0x83, 0xc0, 0x01, /* ce add $1,%eax */
    0x83, 0xc0, 0x01, /* d1 add $1,%eax */
    0xc3, /* d4 ret */
};

typedef long (*loop_function)(long n, long *shared);

static loop_function loop;
static long passes;
static long shared;

static void *run(void *arg) {
  *(long *)arg = loop(passes, &shared);
  return NULL;
}

int main(int argc, char **argv) {
  passes = argc > 1 ? atol(argv[1]) : 2000000;
  loop = (loop_function)jit_code(code, sizeof code);
  pthread_t threads[2];
  long seen[2];
  for (int i = 0; i < 2; i++) check(pthread_create(&threads[i], NULL, run, &seen[i]) == 0);
  for (int i = 0; i < 2; i++) check(pthread_join(threads[i], NULL) == 0);
  for (int i = 0; i < 2; i++) printf("thread %d: shared counter %ld when it finished\n", i, seen[i]);
  check(shared == 2 * passes);
  printf("EXIT-SUCCESS\n");
  return 0;
}
