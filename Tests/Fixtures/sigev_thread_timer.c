/* A sigaltstack handler (sent by another thread) interrupts a read that SA_RESTART restarts;
   then a timer_create(SIGEV_THREAD) timer runs its function in a new thread while main waits
   on a condition variable. glibc's timer helper thread releases a lock and then blocks in
   rt_sigtimedwait until the process exits: that unfinished call must stay in the trace, or
   replay never runs the release and main deadlocks in timer_delete. */
#include "fixture.h"
#include <pthread.h>
#include <signal.h>
#include <time.h>

static char alternate[65536];
static volatile sig_atomic_t onAlternateStack;
static int fds[2];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t fired = PTHREAD_COND_INITIALIZER;
static int timerRuns;

static void on_usr1(int signal) {
  (void)signal;
  char here;
  onAlternateStack = &here >= alternate && &here < alternate + sizeof alternate;
  check(write(fds[1], "y", 1) == 1);
}

static void on_timer(union sigval value) {
  pthread_mutex_lock(&lock);
  timerRuns += value.sival_int;
  pthread_cond_signal(&fired);
  pthread_mutex_unlock(&lock);
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
  struct sigevent event = {.sigev_notify = SIGEV_THREAD, .sigev_notify_function = on_timer};
  event.sigev_value.sival_int = 7;
  timer_t timer;
  check(timer_create(CLOCK_MONOTONIC, &event, &timer) == 0);
  struct itimerspec once = {{0, 0}, {0, 10000000}};
  check(timer_settime(timer, 0, &once, NULL) == 0);
  pthread_mutex_lock(&lock);
  while (timerRuns == 0) pthread_cond_wait(&fired, &lock);
  pthread_mutex_unlock(&lock);
  printf("SIGEV_THREAD timer ran with value %d\n", timerRuns);
  check(timer_delete(timer) == 0);
  puts("EXIT-SUCCESS");
  return 0;
}
