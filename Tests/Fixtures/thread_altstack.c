/* A second thread sets an alternate signal stack, then sends itself SIGUSR1 ten times,
 * each between two system calls: its handler runs on that stack and records the address of
 * a local there. Going backwards from the end, a run starting from a checkpoint copy (whose
 * threads are made again) must give the thread its alternate stack back, or the handler's
 * frame lands elsewhere and the replay diverges. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

static char alternate[64 * 1024];
static volatile uintptr_t handler_local[10];
static volatile int handled;

static void on_usr1(int sig) {
  volatile int local = sig;
  handler_local[handled] = (uintptr_t)&local;
  handled++;
}

static void *worker(void *unused) {
  (void)unused;
  stack_t stack = {.ss_sp = alternate, .ss_size = sizeof alternate, .ss_flags = 0};
  if (sigaltstack(&stack, NULL) != 0) {
    perror("sigaltstack");
    exit(1);
  }
  for (int i = 0; i < 10; i++) {
    getppid();
    syscall(SYS_tgkill, getpid(), (pid_t)syscall(SYS_gettid), SIGUSR1);
    getppid();
  }
  return NULL;
}

int main(void) {
  struct sigaction action = {.sa_handler = on_usr1, .sa_flags = SA_ONSTACK};
  sigemptyset(&action.sa_mask);
  sigaction(SIGUSR1, &action, NULL);
  pthread_t thread;
  pthread_create(&thread, NULL, worker, NULL);
  pthread_join(thread, NULL);
  int on_alternate = 0;
  for (int i = 0; i < handled; i++) {
    uintptr_t at = handler_local[i];
    on_alternate += at >= (uintptr_t)alternate && at < (uintptr_t)alternate + sizeof alternate;
  }
  printf("%d handlers, %d on the alternate stack\n", handled, on_alternate);
  return on_alternate == 10 ? 0 : 1;
}
