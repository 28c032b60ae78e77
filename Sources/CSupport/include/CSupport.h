#ifndef REWIND_CSUPPORT_H
#define REWIND_CSUPPORT_H

#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>
#include <signal.h>
#include "rewind_buffer_abi.h"

/* ptrace(2) is variadic in glibc, which Swift cannot call. */
long rewind_ptrace(int request, pid_t pid, uintptr_t addr, uintptr_t data);

/* The W* status macros of <sys/wait.h>. */
int rewind_wifexited(int status);
int rewind_wexitstatus(int status);
int rewind_wifsignaled(int status);
int rewind_wtermsig(int status);
int rewind_wcoredump(int status);
int rewind_wifstopped(int status);
int rewind_wstopsig(int status);

/* Raw syscall(2), also variadic. */
long rewind_syscall6(long number, long a0, long a1, long a2, long a3, long a4, long a5);

/* The number of SYS_<name> from <asm/unistd_64.h>, or -1 when the header has no such call.
   Used by the tests to check the system call table. */
long rewind_syscall_number_named(const char *name);

/* Spawning a tracee. Between fork and exec a multi-threaded Swift process may only call
   async-signal-safe C, so the whole child side lives here. */
struct rewind_spawn_options {
  const char *path;            /* executable to run */
  char *const *argv;
  char *const *envp;
  const char *cwd;             /* NULL: inherit */
  int cpu;                     /* CPU to pin the child to, or -1 */
  int trap_rdtsc;              /* prctl(PR_SET_TSC, PR_TSC_SIGSEGV) */
  int stdin_fd;                /* -1: inherit; else dup2'ed onto 0 */
  int stdout_fd;               /* -1: inherit; else dup2'ed onto 1 */
  int stderr_fd;               /* -1: inherit; else dup2'ed onto 2 */
  int new_process_group;       /* setpgid(0,0) in the child */
  int disable_core_dumps;      /* RLIMIT_CORE = 0 (replay must not write core files) */
  /* Files to bind-mount over others in a private mount namespace before exec (replay puts
     the recorded dynamic loader where the kernel will look for it). NULL-terminated. */
  const char *const *bind_sources;
  const char *const *bind_targets;
  /* When set_ignored_signals: the signals the program starts with ignored (bit N-1 for
     signal N), the others at their default; replay gives the program the recorded set, which
     survives exec (a shell's background job starts with SIGINT and SIGQUIT ignored). */
  int set_ignored_signals;
  uint64_t ignored_signals;
  /* Installs the system call buffer's seccomp filter (rewind_buffer_filter) after the
     SIGSTOP, before exec: the tracer must have set PTRACE_O_TRACESECCOMP by then. */
  int syscall_buffer_filter;
};

/* Forks a child that disables ASLR, pins itself, optionally traps RDTSC, asks to be traced
   (PTRACE_TRACEME), stops itself with SIGSTOP and then execs. Returns the child's pid, or -errno
   when fork fails. If exec fails the child exits with 127 (ENOENT) or 126 (other errors), and
   writes errno to `error_pipe_fd` first when it is >= 0. If a bind mount fails the child
   exits 125 after writing errno. */
pid_t rewind_spawn_traced(const struct rewind_spawn_options *options, int error_pipe_fd);

/* The recording's seccomp filter for the system call buffer (rewind_buffer_abi.h): a call
   whose `syscall` instruction is the buffer page's runs without a stop, as does the
   tracer's parked pause(REWIND_PARKED_PAUSE_MAGIC); every other call goes to the tracer
   (SECCOMP_RET_TRACE). Copies it into `out` when it fits; returns its size in bytes. */
size_t rewind_buffer_filter(void *out, size_t capacity);
/* Arms (enable 1) or disarms a tracee thread's desched counter, descriptor `fd` of `process`. 0 or -errno. */
int rewind_set_desched_counter(pid_t process, int fd, int enable);

/* sizeof / offsetof facts Swift needs. */
int rewind_user_regs_size(void);
uintptr_t rewind_offsetof_user_debugreg(int index);


/* Makes RDTSC trap in the calling thread, as it does in tracees, and installs a SIGSEGV
   handler that performs a trapped RDTSC/RDTSCP of this process (vDSO clock reads) with the
   counter briefly enabled. A tracer whose TSC mode differs from its tracee's pays a CR4
   write, a VM exit, on every context switch between them. Returns 0 or -errno. */
int rewind_trap_tsc_in_this_thread(void);
/* Reads the TSC (and TSC_AUX for RDTSCP) in a thread where RDTSC traps. */
uint64_t rewind_read_tsc_while_trapped(int rdtscp, uint32_t *aux);

/* CLOCK_MONOTONIC through the system call, not the vDSO: a tracer thread traps RDTSC. */
uint64_t rewind_monotonic_nanoseconds(void);

/* perf_event_open(2), which glibc does not wrap. */
int rewind_perf_event_open_sw(uint32_t config, pid_t pid, int cpu);
int rewind_perf_event_open_hw_probe(void);
int rewind_perf_event_open_breakpoint_probe(void);

int rewind_set_personality_no_randomize(void);
int rewind_pin_to_cpu(int cpu);
/* Pins another process (a tracee moved to a new tracer thread) to `cpu`. */
int rewind_set_affinity(pid_t pid, int cpu);
/* 1 when this process may run on `cpu`. */
int rewind_cpu_is_allowed(int cpu);
/* prctl(PR_SET_CHILD_SUBREAPER, 1): orphaned descendants are reparented to us. */
int rewind_become_subreaper(void);
int rewind_cpuid_faulting_available(void);
int rewind_rdtsc_trapping_available(void);
int rewind_seccomp_available(void);

/* _GNU_SOURCE functions that Swift's Glibc module does not show. */
long rewind_process_vm_readv(pid_t pid, void *local, size_t count, uintptr_t remote);
/* get_robust_list(2) of thread `tid`: its robust futex list head and size. */
long rewind_get_robust_list(pid_t tid, uint64_t *head, uint64_t *length);
int rewind_sched_getcpu(void);

/* Gives `sig` a handler that does nothing, without SA_RESTART, and unblocks it in the calling
 * thread: that thread, sent `sig` with pthread_kill, leaves a blocking call (waitpid) with
 * EINTR. */
int rewind_install_wakeup_signal(int sig);

/* A POSIX timer of the calling thread that sends `sig` to that thread alone
   (SIGEV_THREAD_ID): a tracer blocked in waitpid wakes with EINTR at a deadline, and no
   other thread (nor any tracee: timers are not inherited by fork) sees the signal. Install
   the handler with rewind_install_wakeup_signal first. Returns the timer or -errno. */
long rewind_thread_timer_create(int sig);
/* Arms `timer` to fire `nanoseconds` from now (at least 1), then every `interval`
   nanoseconds (0: once); `nanoseconds` 0 disarms it. Returns 0 or -errno. */
int rewind_thread_timer_set(long timer, uint64_t nanoseconds, uint64_t interval);
void rewind_thread_timer_delete(long timer);
/* SIGRTMIN + n (SIGRTMIN is a function call in glibc). */
int rewind_realtime_signal(int n);

/* `rewind watch` (watch_support.c). The system call number of the in-program watch API
   (include/rewind/watch.h): unallocated, so the kernel fails it with ENOSYS outside rewind. */
#define REWIND_WATCH_SYSCALL 29303
/* Copies the seccomp filter that sends only that call to the tracer into `out` when it
   fits; returns its size in bytes. */
size_t rewind_watch_filter(void *out, size_t capacity);
/* Forks a child that installs that filter (when `with_filter`), waits until it reads a byte
   from `go_fd` (the parent seizes it meanwhile; end of file makes it exit 125) and execs
   `path`. Returns its pid or -errno. If exec fails the child writes errno to `error_pipe_fd`
   (when >= 0) and exits 127 (ENOENT) or 126; 125 when the filter could not be installed. */
pid_t rewind_spawn_waiting(const char *path, char *const argv[], char *const envp[], int with_filter,
                           int go_fd, int error_pipe_fd);
/* SIGINT, SIGTERM and SIGHUP only note that rewind should stop. */
void rewind_watch_install_stop_signals(void);
/* The stop signal received, -1 after rewind_watch_request_stop, or 0. */
int rewind_watch_stop_signal(void);
void rewind_watch_request_stop(void);
/* Whether the `seconds` given to the waker have passed. */
int rewind_watch_deadline_passed(void);
/* Starts a thread that, once a stop signal came or `seconds` (> 0) passed, sends
   `wake_signal` to the calling thread every 20 ms, so that its waitpid returns EINTR. */
int rewind_watch_start_waker(int wake_signal, double seconds);

#endif

/* Starts `argv[0]` (searched in PATH) as the terminal's foreground process group, so that
 * ^C reaches it (gdb turns it into an interrupt packet) and not rewind or the replayed
 * processes. Returns its pid, or -1 with errno. */
pid_t rewind_spawn_in_foreground(char *const argv[]);
/* Gives the terminal on fd 0 back to this process's group, if it is a terminal. */
void rewind_take_terminal_back(void);
/* Makes SIGINT do nothing in rewind (not SIG_IGN, which exec'd children would inherit). */
void rewind_ignore_interrupts(void);
/* Makes the first SIGINT do nothing in rewind (the replayed processes get it too, and replay
 * stops there) and the next one kill it as usual. */
void rewind_ignore_first_interrupt(void);
