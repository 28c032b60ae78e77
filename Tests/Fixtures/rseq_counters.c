/* Per-CPU counters bumped in rseq(2) critical sections, on glibc's own registration: two
   threads bump them argv[1] times each (default 5000000) while a CPU-time timer's handler
   bumps them too. Each bump reads the counter and stores it plus one in two instructions, so
   a section that another thread (or the handler) ran into between them, and that was not
   aborted, loses updates: the total then falls short of the bumps made. Prints whether rseq
   is registered, what rseq answers a second registration, another area and a wrong
   signature, whether the CPU glibc reads from the area is the one the kernel reports,
   and the total against the bumps made (how many bumps the handler made is the timer's
   business, so only the equality is printed). */
#include "fixture.h"
#include <pthread.h>
#include <sched.h>
#include <sys/rseq.h>
#include <sys/syscall.h>

#define SLOTS 1024

static long counters[SLOTS];
static long handler_bumps;
static long bumps_per_thread;

/* The thread's area, at glibc's offset from the thread pointer (whose first word points to
   itself on x86-64). */
static volatile uint32_t *rseq_area(void) {
  char *thread_pointer;
  __asm__("movq %%fs:0, %0" : "=r"(thread_pointer));
  return (volatile uint32_t *)(thread_pointer + __rseq_offset);
}

/* One bump of this CPU's counter; 0 when the section was aborted (then nothing was stored). */
static int bump(void) {
  volatile uint32_t *area = rseq_area();
  uint32_t cpu = area[0]; /* cpu_id_start */
  check(cpu < SLOTS);
  __asm__ goto(
      ".pushsection __rseq_cs, \"aw\"\n\t"
      ".balign 32\n\t"
      "20: .long 0, 0\n\t"
      ".quad 21f, 22f - 21f, 23f\n\t"
      ".popsection\n\t"
      "leaq 20b(%%rip), %%rax\n\t"
      "movq %%rax, 8(%[area])\n\t" /* rseq_cs */
      "21:\n\t"
      "cmpl 4(%[area]), %[cpu]\n\t" /* cpu_id */
      "jne %l[aborted]\n\t"
      "movq (%[slot]), %%rax\n\t"
      "addq $1, %%rax\n\t"
      "movq %%rax, (%[slot])\n\t" /* the commit */
      "22:\n\t"
      ".pushsection .text.rseq_abort, \"ax\"\n\t"
      ".byte 0x0f, 0xb9, 0x3d\n\t" /* ud1, so that the signature decodes as one instruction */
      ".long 0x53053053\n\t"       /* glibc's signature, which the kernel checks */
      "23: jmp %l[aborted]\n\t"
      ".popsection\n\t"
      :
      : [area] "r"(area), [cpu] "r"(cpu), [slot] "r"(&counters[cpu])
      : "rax", "memory", "cc"
      : aborted);
  return 1;
aborted:
  return 0;
}

static void on_timer(int signal) {
  (void)signal;
  while (!bump()) {
  }
  handler_bumps++;
}

static void *bump_many(void *unused) {
  (void)unused;
  for (long i = 0; i < bumps_per_thread; i++) {
    while (!bump()) {
    }
  }
  return NULL;
}

int main(int argc, char **argv) {
  bumps_per_thread = argc > 1 ? atol(argv[1]) : 5000000;
  printf("rseq registered: %s\n", __rseq_size > 0 ? "yes" : "no");
  check(__rseq_size > 0);
  /* What rseq(2) answers a second registration, another area, and a wrong signature. */
  void *area = (void *)rseq_area();
  long again = syscall(SYS_rseq, area, 32, 0, 0x53053053);
  printf("registered again: %ld %s\n", again, again == -1 ? strerror(errno) : "");
  long elsewhere = syscall(SYS_rseq, (char *)area + 32, 32, 0, 0x53053053);
  printf("another area: %ld %s\n", elsewhere, elsewhere == -1 ? strerror(errno) : "");
  long unsigned_off = syscall(SYS_rseq, area, 32, 1, 0x12345678);
  printf("unregistered with another signature: %ld %s\n", unsigned_off, unsigned_off == -1 ? strerror(errno) : "");
  unsigned kernel_cpu = 0;
  check(syscall(SYS_getcpu, &kernel_cpu, NULL, NULL) == 0);
  printf("cpu_id is the kernel's: %s\n", rseq_area()[1] == kernel_cpu ? "yes" : "no");
  struct sigaction action = {0};
  action.sa_handler = on_timer;
  action.sa_flags = SA_RESTART;
  check(sigaction(SIGPROF, &action, NULL) == 0);
  struct itimerval timer = {{0, 2000}, {0, 2000}};
  check(setitimer(ITIMER_PROF, &timer, NULL) == 0);
  pthread_t threads[2];
  for (int i = 0; i < 2; i++) check(pthread_create(&threads[i], NULL, bump_many, NULL) == 0);
  for (int i = 0; i < 2; i++) check(pthread_join(threads[i], NULL) == 0);
  struct itimerval off = {{0, 0}, {0, 0}};
  check(setitimer(ITIMER_PROF, &off, NULL) == 0);
  long total = 0;
  for (int i = 0; i < SLOTS; i++) total += counters[i];
  long made = 2 * bumps_per_thread + handler_bumps;
  printf("no bump lost: %s\n", total == made ? "yes" : "no");
  if (total != made) printf("total %ld, bumps %ld\n", total, made);
  puts("EXIT-SUCCESS");
  return 0;
}
