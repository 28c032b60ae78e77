/* Two threads run a loop (written at run time, as a JIT writes code) that no compare stub
   fits for most of its instructions: each of its 24 `jo` (never taken) lands two
   instructions on with a rel8, so every 5-byte patch covers an instruction a branch lands
   on, no earlier start falls through without one, there is no padding for a trampoline,
   and rel8 branches cannot be re-aimed at a stub. HotSpot's interpreter templates look like
   this. A preemption there made replay search with a hardware breakpoint, ~20 us a pass
   over hundreds of thousands of passes a point; recording now single-steps the thread on to
   the `add` with a 7-byte immediate, where a stub fits. Prints where the loop is (replay maps
   it at the same address) and each thread's count. */
#include "fixture.h"
#include <pthread.h>

/* long loop(long n): n, counted one pass at a time. */
static const unsigned char code[] = {
    0x48, 0x89, 0xf9, /* 00 mov %rdi,%rcx */
    0x31, 0xc0,       /* 03 xor %eax,%eax (clears OF) */
    0x70, 0x02, /* 05 jo +2 */
    0x70, 0x02, /* 07 jo +2 */
    0x70, 0x02, /* 09 jo +2 */
    0x70, 0x02, /* 0b jo +2 */
    0x70, 0x02, /* 0d jo +2 */
    0x70, 0x02, /* 0f jo +2 */
    0x70, 0x02, /* 11 jo +2 */
    0x70, 0x02, /* 13 jo +2 */
    0x70, 0x02, /* 15 jo +2 */
    0x70, 0x02, /* 17 jo +2 */
    0x70, 0x02, /* 19 jo +2 */
    0x70, 0x02, /* 1b jo +2 */
    0x70, 0x02, /* 1d jo +2 */
    0x70, 0x02, /* 1f jo +2 */
    0x70, 0x02, /* 21 jo +2 */
    0x70, 0x02, /* 23 jo +2 */
    0x70, 0x02, /* 25 jo +2 */
    0x70, 0x02, /* 27 jo +2 */
    0x70, 0x02, /* 29 jo +2 */
    0x70, 0x02, /* 2b jo +2 */
    0x70, 0x02, /* 2d jo +2 */
    0x70, 0x02, /* 2f jo +2 */
    0x70, 0x02, /* 31 jo +2 */
    0x70, 0x02, /* 33 jo +2 */
    0xff, 0xc0,                                     /* 35 inc %eax */
    0x49, 0x81, 0xc2, 0x78, 0x56, 0x34, 0x12,       /* 37 add $0x12345678,%r10 */
    0x48, 0xff, 0xc9,                               /* 3e dec %rcx */
    0x75, 0xc2,                                     /* 41 jne 05 */
    0xc3,                                           /* 43 ret */
};

typedef long (*loop_function)(long n);

static loop_function loop;
static long passes;

static void *run(void *arg) {
  *(long *)arg = loop(passes);
  return NULL;
}

int main(int argc, char **argv) {
  passes = argc > 1 ? atol(argv[1]) : 20000000;
  loop = (loop_function)jit_code(code, sizeof code);
  printf("loop at %p\n", (void *)loop);
  pthread_t threads[2];
  long counts[2];
  for (int i = 0; i < 2; i++) check(pthread_create(&threads[i], NULL, run, &counts[i]) == 0);
  for (int i = 0; i < 2; i++) check(pthread_join(threads[i], NULL) == 0);
  for (int i = 0; i < 2; i++) {
    printf("thread %d: count %ld\n", i, counts[i]);
    check(counts[i] == passes);
  }
  printf("EXIT-SUCCESS\n");
  return 0;
}
