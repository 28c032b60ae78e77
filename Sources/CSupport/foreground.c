#include "CSupport.h"
#include <errno.h>
#include <signal.h>
#include <unistd.h>

static void give_terminal_to(pid_t group) {
  if (!isatty(0)) return;
  /* A background process calling tcsetpgrp gets SIGTTOU unless it blocks it. */
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGTTOU);
  sigprocmask(SIG_BLOCK, &block, &old);
  tcsetpgrp(0, group);
  sigprocmask(SIG_SETMASK, &old, NULL);
}

pid_t rewind_spawn_in_foreground(char *const argv[]) {
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    /* Only async-signal-safe calls here: the parent is multi-threaded. */
    setpgid(0, 0);
    give_terminal_to(getpid());
    execvp(argv[0], argv);
    _exit(127);
  }
  setpgid(pid, pid); /* also here, so neither side races the other */
  return pid;
}

void rewind_take_terminal_back(void) { give_terminal_to(getpgrp()); }

static void do_nothing(int signal) { (void)signal; }

static void restore_default(int signal) {
  struct sigaction action = {0};
  action.sa_handler = SIG_DFL;
  sigemptyset(&action.sa_mask);
  sigaction(signal, &action, NULL);
}

/* A handler, not SIG_IGN, which exec'd children would inherit. */
static void handle_interrupts(void (*handler)(int)) {
  struct sigaction action = {0};
  action.sa_handler = handler;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGINT, &action, NULL);
}

void rewind_ignore_interrupts(void) { handle_interrupts(do_nothing); }

void rewind_ignore_first_interrupt(void) { handle_interrupts(restore_default); }
