/* What `rewind watch` needs in C: starting a program stopped (to be seized) with the filter
   that sends the in-program watch API to the tracer, the filter itself, and stop requests
   (^C, SIGTERM, SIGHUP, --duration) that reach the tracer thread blocked in waitpid. */
#define _GNU_SOURCE
#include "CSupport.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* x86-64 only: any other architecture (an x32 or i386 call) is let through; our number goes
   to the tracer (SECCOMP_RET_TRACE), which answers it; every other call is allowed. With no
   tracer (after detaching) the kernel fails our call with ENOSYS: the API's no-op. */
static struct sock_filter watch_filter[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, 3),
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, REWIND_WATCH_SYSCALL, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
};

size_t rewind_watch_filter(void *out, size_t capacity) {
  if (capacity >= sizeof watch_filter) memcpy(out, watch_filter, sizeof watch_filter);
  return sizeof watch_filter;
}

static int install_filter(void) {
  struct sock_fprog program = {.len = sizeof watch_filter / sizeof watch_filter[0], .filter = watch_filter};
  /* Without CAP_SYS_ADMIN the kernel wants no_new_privs first. */
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program) == 0) return 0;
  if (errno != EACCES) return -1;
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -1;
  return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program);
}

pid_t rewind_spawn_waiting(const char *path, char *const argv[], char *const envp[], int with_filter,
                           int go_fd, int error_pipe_fd) {
  pid_t child = fork();
  if (child != 0) return child < 0 ? -errno : child;
  /* Child: only async-signal-safe calls from here. */
  if (with_filter && install_filter() != 0) {
    int e = errno;
    if (error_pipe_fd >= 0) (void)!write(error_pipe_fd, &e, sizeof e);
    _exit(125);
  }
  /* Waits, running, until the parent has seized it (a byte), or is gone (end of file). */
  char go;
  ssize_t r;
  do r = read(go_fd, &go, 1); while (r < 0 && errno == EINTR);
  if (r != 1) _exit(125);
  execve(path, argv, envp);
  int e = errno;
  if (error_pipe_fd >= 0) (void)!write(error_pipe_fd, &e, sizeof e);
  _exit(e == ENOENT ? 127 : 126);
}

static volatile sig_atomic_t stop_signal;
static volatile sig_atomic_t deadline_passed;

static void note_stop(int sig) { stop_signal = sig; }

void rewind_watch_install_stop_signals(void) {
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = note_stop;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, NULL);
  sigaction(SIGTERM, &action, NULL);
  sigaction(SIGHUP, &action, NULL);
  /* A parent may have started rewind with them blocked (they stay blocked across exec). */
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

int rewind_watch_stop_signal(void) { return stop_signal; }
void rewind_watch_request_stop(void) { stop_signal = -1; }
int rewind_watch_deadline_passed(void) { return deadline_passed; }

struct waker {
  pthread_t target;
  int wake_signal;
  double seconds;
};

static struct waker the_waker;

static double now_seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void *wake(void *arg) {
  (void)arg;
  double deadline = the_waker.seconds > 0 ? now_seconds() + the_waker.seconds : 0;
  /* Repeats until the process ends: the tracer may be between its check of the flags and
     its waitpid when one kick lands. */
  for (;;) {
    usleep(20000);
    if (deadline > 0 && now_seconds() >= deadline) deadline_passed = 1;
    if (stop_signal || deadline_passed) pthread_kill(the_waker.target, the_waker.wake_signal);
  }
  return NULL;
}

int rewind_watch_start_waker(int wake_signal, double seconds) {
  the_waker.target = pthread_self();
  the_waker.wake_signal = wake_signal;
  the_waker.seconds = seconds;
  int r = rewind_install_wakeup_signal(wake_signal);
  if (r != 0) return r;
  pthread_t thread;
  pthread_attr_t attributes;
  pthread_attr_init(&attributes);
  pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
  r = pthread_create(&thread, &attributes, wake, NULL);
  pthread_attr_destroy(&attributes);
  return -r;
}

