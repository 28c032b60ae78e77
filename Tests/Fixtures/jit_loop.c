/* Two threads run a hot loop that the program writes at run time into a read-write-execute
   mapping, laid out as HotSpot's C1 compiler lays out a counted loop: data bytes (a
   method's relocations and constants) precede the code, the loop is entered by a jmp to
   its condition, and its last instructions before the condition are short. No system call
   in the loop: recording preempts each thread there (DESIGN.md, principle 4), and replay
   must find each point again with the in-process compare stub. A point on `inc %edx` or
   `mov %eax,%ecx` cannot be patched where it is (the jmp lands in the bytes a jmp rel32
   would cover), nor one on the `jl` (too short before the ret), and no instruction start
   before them could be told from the bytes before the code, so replay used to fall back
   to a hardware breakpoint there, ~20 µs a pass over millions of passes. Each thread prints its sum and the shared counter when it finished, which
   depends on where the other thread was preempted. */
#include "fixture.h"
#include <pthread.h>

/* long loop(long n, int *shared): the sum of 0..n-1, counting passes in *shared. */
static const unsigned char code[] = {
    0x31, 0xc0,             /* 00 xor %eax,%eax */
    0x31, 0xd2,             /* 02 xor %edx,%edx */
    0x31, 0xc9,             /* 04 xor %ecx,%ecx */
    0xeb, 0x0a,             /* 06 jmp 12 (the condition) */
    0x48, 0x01, 0xd0,       /* 08 add %rdx,%rax */
    0xf0, 0xff, 0x06,       /* 0b lock incl (%rsi): shared, like a JIT's profile counter */
    0xff, 0xc2,             /* 0e inc %edx */
    0x89, 0xc1,             /* 10 mov %eax,%ecx */
    0x39, 0xfa,             /* 12 cmp %edi,%edx */
    0x7c, 0xf2,             /* 14 jl 08 */
    0xc3,                   /* 16 ret */
};


typedef long (*loop_function)(long n, int *shared);

static loop_function loop;
static int shared;
static long passes;

struct result {
  long sum;
  int shared_at_end;
};

static void *run(void *arg) {
  struct result *result = arg;
  result->sum = loop(passes, &shared);
  result->shared_at_end = __atomic_load_n(&shared, __ATOMIC_SEQ_CST);
  return NULL;
}

int main(int argc, char **argv) {
  passes = argc > 1 ? atol(argv[1]) : 20000000;
  loop = (loop_function)jit_code(code, sizeof code);
  pthread_t threads[2];
  struct result results[2];
  for (int i = 0; i < 2; i++) check(pthread_create(&threads[i], NULL, run, &results[i]) == 0);
  for (int i = 0; i < 2; i++) check(pthread_join(threads[i], NULL) == 0);
  long expected = 0;
  for (long i = 0; i < passes; i++) expected += i;
  for (int i = 0; i < 2; i++) {
    printf("thread %d: shared counter %d when it finished\n", i, results[i].shared_at_end);
    check(results[i].sum == expected);
  }
  printf("shared counter %d\n", shared);
  check(shared == 2 * passes);
  printf("EXIT-SUCCESS\n");
  return 0;
}
