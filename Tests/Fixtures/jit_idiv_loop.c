/* Two threads run a loop that the program writes at run time into a read-write-execute
   mapping, laid out as HotSpot's C1 compiler lays out `s += j % 7`: the division is guarded
   by a check for INT_MIN / -1, whose two jcc rel32 land just before the 2-byte idiv (at the
   cltd) and just after it. The idiv is the slow instruction of the loop, so that is where
   recording preempts the threads (DESIGN.md, principle 4). A jmp rel32 over the idiv covers
   the instruction after it, where the second jcc lands; one from the cltd too; no earlier
   start falls through to the point without a branch on the way; and the only padding
   nearby, a 3-byte nop, is too short for a trampoline. So replay fell back to a hardware
   breakpoint at the point, ~20 us a pass over millions of passes. Prints where the loop
   is (replay maps it at the same address) and each thread's sum. */
#include "fixture.h"
#include <pthread.h>

/* long loop(long n): the sum of j % 7 for j in 0..n-1. */
static const unsigned char code[] = {
    0x53,                                     /* 00 push %rbx */
    0x49, 0x89, 0xf8,                         /* 01 mov %rdi,%r8 */
    0xbf, 0x00, 0x00, 0x00, 0x00,             /* 04 mov $0,%edi */
    0x48, 0xc7, 0xc3, 0x00, 0x00, 0x00, 0x00, /* 09 mov $0,%rbx */
    0xe9, 0x33, 0x00, 0x00, 0x00,             /* 10 jmp 48 (the condition) */
    0x66, 0x66, 0x90,                         /* 15 data16 xchg %ax,%ax */
    0x48, 0x8b, 0xc7,                         /* 18 mov %rdi,%rax */
    0xb9, 0x07, 0x00, 0x00, 0x00,             /* 1b mov $0x7,%ecx */
    0x81, 0xf8, 0x00, 0x00, 0x00, 0x80,       /* 20 cmp $0x80000000,%eax */
    0x0f, 0x85, 0x0b, 0x00, 0x00, 0x00,       /* 26 jne 37 */
    0x33, 0xd2,                               /* 2c xor %edx,%edx */
    0x83, 0xf9, 0xff,                         /* 2e cmp $0xffffffff,%ecx */
    0x0f, 0x84, 0x03, 0x00, 0x00, 0x00,       /* 31 je 3a */
    0x99,                                     /* 37 cltd */
    0xf7, 0xf9,                               /* 38 idiv %ecx */
    0x48, 0x63, 0xd2,                         /* 3a movslq %edx,%rdx */
    0x48, 0x03, 0xd3,                         /* 3d add %rbx,%rdx */
    0xff, 0xc7,                               /* 40 inc %edi */
    0x48, 0x8b, 0xda,                         /* 42 mov %rdx,%rbx */
    0x90, 0x90, 0x90,                         /* 45 nop (3 bytes, as C1's profile code is) */
    0x44, 0x39, 0xc7,                         /* 48 cmp %r8d,%edi */
    0x0f, 0x8c, 0xc7, 0xff, 0xff, 0xff,       /* 4b jl 18 */
    0x48, 0x8b, 0xc3,                         /* 51 mov %rbx,%rax */
    0x5b,                                     /* 54 pop %rbx */
    0xc3,                                     /* 55 ret */
};


typedef long (*loop_function)(long n);

static loop_function loop;
static long passes;

static void *run(void *arg) {
  *(long *)arg = loop(passes);
  return NULL;
}

int main(int argc, char **argv) {
  passes = argc > 1 ? atol(argv[1]) : 100000000;
  unsigned char *start = jit_code(code, sizeof code);
  loop = (loop_function)start;
  printf("loop at %p, idiv at %p\n", (void *)loop, (void *)(start + 0x38));
  pthread_t threads[2];
  long sums[2];
  for (int i = 0; i < 2; i++) check(pthread_create(&threads[i], NULL, run, &sums[i]) == 0);
  for (int i = 0; i < 2; i++) check(pthread_join(threads[i], NULL) == 0);
  long expected = 0;
  for (long j = 0; j < passes; j++) expected += j % 7;
  for (int i = 0; i < 2; i++) {
    printf("thread %d: sum %ld\n", i, sums[i]);
    check(sums[i] == expected);
  }
  printf("EXIT-SUCCESS\n");
  return 0;
}
