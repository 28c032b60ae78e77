#include "CVMSupport.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

pid_t rewind_vm_spawn(char *const argv[], int output_fd, int own_group) {
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    /* Async-signal-safe calls only: the parent is multi-threaded. */
    if (own_group) setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (getppid() != parent) _exit(127); /* the parent died before prctl */
    int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0) { dup2(null_fd, 0); if (null_fd > 2) close(null_fd); }
    if (output_fd >= 0) { dup2(output_fd, 1); dup2(output_fd, 2); if (output_fd > 2) close(output_fd); }
    /* Default dispositions and an empty mask for QEMU, whatever rewind set. */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    execvp(argv[0], argv);
    _exit(127);
  }
  if (own_group) setpgid(pid, pid);
  return pid;
}

static volatile sig_atomic_t pending_signal;

static void remember(int signal) { pending_signal = signal; }

void rewind_vm_catch_signals(void) {
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = remember;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGINT, &action, NULL);
  sigaction(SIGTERM, &action, NULL);
  sigaction(SIGHUP, &action, NULL);
}

int rewind_vm_pending_signal(void) { return pending_signal; }
