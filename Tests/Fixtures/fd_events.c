/* epoll over a timerfd, an eventfd and a signalfd, plus an interval timer (setitimer) whose
   SIGALRM interrupts a pause(): every readiness and value is printed in order. */
#include "fixture.h"
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/time.h>
#include <sys/timerfd.h>

static volatile sig_atomic_t alarms;
static void on_alarm(int signal) {
  (void)signal;
  alarms++;
}

int main(void) {
  int timer = timerfd_create(CLOCK_MONOTONIC, 0);
  struct itimerspec period = {{0, 5000000}, {0, 5000000}};
  check(timer >= 0 && timerfd_settime(timer, 0, &period, NULL) == 0);
  int event = eventfd(0, 0);
  sigset_t usr1;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  check(sigprocmask(SIG_BLOCK, &usr1, NULL) == 0);
  int signals = signalfd(-1, &usr1, 0);
  int epoll = epoll_create1(0);
  int fds[3] = {timer, event, signals};
  for (int i = 0; i < 3; i++) {
    struct epoll_event interest = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
    check(epoll_ctl(epoll, EPOLL_CTL_ADD, fds[i], &interest) == 0);
  }
  uint64_t one = 1;
  check(write(event, &one, 8) == 8);
  check(kill(getpid(), SIGUSR1) == 0);
  int ticks = 0, seen[3] = {0};
  while (ticks < 3) {
    struct epoll_event ready[3];
    int n = epoll_wait(epoll, ready, 3, 1000);
    check(n > 0);
    for (int i = 0; i < n; i++) {
      int which = (int)ready[i].data.u32;
      if (which == 0) {
        uint64_t expirations;
        check(read(timer, &expirations, 8) == 8);
        ticks++;
        printf("timerfd expired (%llu)\n", (unsigned long long)expirations);
      } else if (which == 1) {
        uint64_t value;
        check(read(event, &value, 8) == 8);
        printf("eventfd %llu\n", (unsigned long long)value);
      } else {
        struct signalfd_siginfo info;
        check(read(signals, &info, sizeof info) == sizeof info);
        printf("signalfd got signal %u from pid %u\n", info.ssi_signo, info.ssi_pid == (uint32_t)getpid() ? 1u : 0u);
      }
      seen[which]++;
    }
  }
  struct sigaction action = {0};
  action.sa_handler = on_alarm;
  check(sigaction(SIGALRM, &action, NULL) == 0);
  struct itimerval interval = {{0, 2000}, {0, 2000}};
  check(setitimer(ITIMER_REAL, &interval, NULL) == 0);
  while (alarms < 3) pause();
  struct itimerval off = {{0, 0}, {0, 0}};
  check(setitimer(ITIMER_REAL, &off, NULL) == 0);
  /* Another SIGALRM may come between the loop's last test and the setitimer that stops them. */
  printf("alarms %s, seen %d %d %d\n", alarms >= 3 ? "3 or more" : "too few", seen[0] > 0, seen[1], seen[2]);
  puts("EXIT-SUCCESS");
  return 0;
}
