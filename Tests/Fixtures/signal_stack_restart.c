/* A handler on an alternate signal stack (sigaltstack), sent by another thread, interrupts
   a blocking read that SA_RESTART restarts. */
#include "fixture.h"
#include <pthread.h>
#include <signal.h>

static char alternate[65536];
static volatile sig_atomic_t onAlternateStack;
static int fds[2];

static void on_usr1(int signal) {
  (void)signal;
  char here;
  onAlternateStack = &here >= alternate && &here < alternate + sizeof alternate;
  check(write(fds[1], "y", 1) == 1);  /* the restarted read then finds data */
}

static void *send_usr1(void *arg) {
  usleep(20000);
  check(pthread_kill(*(pthread_t *)arg, SIGUSR1) == 0);
  return NULL;
}

int main(void) {
  stack_t stack = {.ss_sp = alternate, .ss_size = sizeof alternate};
  check(sigaltstack(&stack, NULL) == 0);
  struct sigaction action = {0};
  action.sa_handler = on_usr1;
  action.sa_flags = SA_ONSTACK | SA_RESTART;
  check(sigaction(SIGUSR1, &action, NULL) == 0);
  check(pipe(fds) == 0);
  pthread_t self = pthread_self(), sender;
  check(pthread_create(&sender, NULL, send_usr1, &self) == 0);
  char c;
  ssize_t n = read(fds[0], &c, 1);
  check(pthread_join(sender, NULL) == 0);
  printf("read %zd byte '%c' after a restart; handler on the alternate stack: %d\n", n, c, (int)onAlternateStack);

  puts("EXIT-SUCCESS");
  return 0;
}
