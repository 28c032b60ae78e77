/* Calls that let a signal through only while they wait: SIGCHLD stays blocked except
 * inside pselect6, ppoll, epoll_pwait and sigsuspend, as make -j2 does with pselect6.
 * Each call is interrupted by a child's SIGCHLD (EINTR); the handler runs with the call's
 * mask in force and SIGCHLD is blocked again afterwards. Replay emulates these calls, so
 * it must put the call's mask back in force to deliver the recorded SIGCHLD. */
#include "fixture.h"
#include <poll.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/wait.h>

static volatile sig_atomic_t children_ended;
static volatile sig_atomic_t blocked_in_handler;

static void on_child(int sig) {
  (void)sig;
  sigset_t now;
  sigprocmask(SIG_BLOCK, NULL, &now);
  blocked_in_handler = sigismember(&now, SIGUSR2);
  children_ended++;
}

static void start_child(void) {
  pid_t child = fork();
  check(child >= 0);
  if (child == 0) {
    usleep(2000);
    _exit(0);
  }
}

static void reap(void) {
  while (waitpid(-1, NULL, WNOHANG) > 0) {}
}

static void report(const char *call, int result, int saved_errno) {
  sigset_t now;
  sigprocmask(SIG_BLOCK, NULL, &now);
  printf("%s: %d %s, handler ran %d, SIGUSR2 blocked in handler %d, SIGCHLD blocked after %d\n", call, result,
         saved_errno == EINTR ? "EINTR" : strerror(saved_errno), (int)children_ended, (int)blocked_in_handler,
         sigismember(&now, SIGCHLD));
  children_ended = 0;
  reap();
}

int main(void) {
  struct sigaction action = {.sa_handler = on_child};
  check(sigaction(SIGCHLD, &action, NULL) == 0);
  sigset_t blocked, during;
  sigemptyset(&blocked);
  sigaddset(&blocked, SIGCHLD);
  check(sigprocmask(SIG_BLOCK, &blocked, NULL) == 0);
  /* The mask while waiting: SIGCHLD let through, SIGUSR2 blocked (the handler sees it). */
  sigemptyset(&during);
  sigaddset(&during, SIGUSR2);
  int pipes[2];
  check(pipe(pipes) == 0);

  start_child();
  fd_set readable;
  FD_ZERO(&readable);
  FD_SET(pipes[0], &readable);
  int r = pselect(pipes[0] + 1, &readable, NULL, NULL, NULL, &during);
  report("pselect6", r, errno);

  start_child();
  struct pollfd fds = {.fd = pipes[0], .events = POLLIN};
  r = ppoll(&fds, 1, NULL, &during);
  report("ppoll", r, errno);

  int epoll = epoll_create1(0);
  check(epoll >= 0);
  struct epoll_event interest = {.events = EPOLLIN};
  check(epoll_ctl(epoll, EPOLL_CTL_ADD, pipes[0], &interest) == 0);
  start_child();
  struct epoll_event ready;
  r = epoll_pwait(epoll, &ready, 1, -1, &during);
  report("epoll_pwait", r, errno);

  start_child();
  r = sigsuspend(&during);
  report("sigsuspend", r, errno);
  printf("EXIT-SUCCESS\n");
  return 0;
}
