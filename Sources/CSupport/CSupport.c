#define _GNU_SOURCE
#include "CSupport.h"
#include "rewind_buffer_abi.h"
#include <linux/audit.h>
#include <linux/filter.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <linux/hw_breakpoint.h>
#include <linux/seccomp.h>
#include <asm/prctl.h>
#include <sched.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <string.h>
#include <time.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/mount.h>
#include <ucontext.h>
#include <sys/resource.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>
#include <x86intrin.h>

long rewind_ptrace(int request, pid_t pid, uintptr_t addr, uintptr_t data) {
  return ptrace((enum __ptrace_request)request, pid, (void *)addr, (void *)data);
}

int rewind_wifexited(int status) { return WIFEXITED(status); }
int rewind_wexitstatus(int status) { return WEXITSTATUS(status); }
int rewind_wifsignaled(int status) { return WIFSIGNALED(status); }
int rewind_wtermsig(int status) { return WTERMSIG(status); }
int rewind_wcoredump(int status) { return WCOREDUMP(status); }
int rewind_wifstopped(int status) { return WIFSTOPPED(status); }
int rewind_wstopsig(int status) { return WSTOPSIG(status); }

long rewind_syscall6(long number, long a0, long a1, long a2, long a3, long a4, long a5) {
  return syscall(number, a0, a1, a2, a3, a4, a5);
}

#include "syscall_names.inc"

long rewind_syscall_number_named(const char *name) {
  for (size_t i = 0; i < sizeof(rewind_syscall_names) / sizeof(rewind_syscall_names[0]); i++) {
    if (strcmp(rewind_syscall_names[i].name, name) == 0) return rewind_syscall_names[i].number;
  }
  return -1;
}

static void write_errno_and_exit(int error_pipe_fd, int code) {
  int e = errno;
  if (error_pipe_fd >= 0) {
    ssize_t ignored = write(error_pipe_fd, &e, sizeof e);
    (void)ignored;
  }
  _exit(code);
}

#define LOW(x) ((uint32_t)((x) & 0xffffffffu))
#define HIGH(x) ((uint32_t)((x) >> 32))
#define BUFFERED_END REWIND_BUFFERED_CALL_END
#define UNRECORDED_END REWIND_UNRECORDED_CALL_END
_Static_assert(HIGH(BUFFERED_END) == HIGH(UNRECORDED_END), "one page");

static struct sock_filter buffer_filter[] = {
    /* Another architecture's call (int 0x80): the tracer's. */
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, 12),
    /* instruction_pointer is the address after the `syscall` instruction: the buffered
       one and the unrecorded one run untraced. */
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, instruction_pointer) + 4),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, HIGH(BUFFERED_END), 0, 3),
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, instruction_pointer)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, LOW(BUFFERED_END), 7, 0),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, LOW(UNRECORDED_END), 6, 0),
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_pause, 0, 5),
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, LOW(REWIND_PARKED_PAUSE_MAGIC), 0, 3),
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0]) + 4),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, HIGH(REWIND_PARKED_PAUSE_MAGIC), 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE),
};

/* Arms or disarms a tracee thread's desched counter from the tracer, through a copy of
   its descriptor (the thread is stopped where its own code cannot). */
int rewind_set_desched_counter(pid_t process, int fd, int enable) {
  int pidfd = (int)syscall(SYS_pidfd_open, process, 0);
  if (pidfd < 0) return -errno;
  int copy = (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);
  int saved = errno;
  close(pidfd);
  if (copy < 0) return -saved;
  int r = ioctl(copy, enable ? PERF_EVENT_IOC_ENABLE : PERF_EVENT_IOC_DISABLE, 0);
  saved = errno;
  close(copy);
  return r < 0 ? -saved : 0;
}

size_t rewind_buffer_filter(void *out, size_t capacity) {
  if (capacity >= sizeof buffer_filter) memcpy(out, buffer_filter, sizeof buffer_filter);
  return sizeof buffer_filter;
}

static int install_buffer_filter(void) {
  struct sock_fprog program = {.len = sizeof buffer_filter / sizeof buffer_filter[0], .filter = buffer_filter};
  /* Without CAP_SYS_ADMIN the kernel wants no_new_privs first. */
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program) == 0) return 0;
  if (errno != EACCES) return -1;
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -1;
  return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program);
}

pid_t rewind_spawn_traced(const struct rewind_spawn_options *o, int error_pipe_fd) {
  pid_t pid = fork();
  if (pid < 0) return -errno;
  if (pid > 0) return pid;

  /* Child: async-signal-safe calls only from here on. The parent blocks the signals it
     forwards; the program must start with them unblocked, as it would without rewind. */
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  if (o->set_ignored_signals) {
    for (int sig = 1; sig <= 64; sig++) {
      if (sig == SIGKILL || sig == SIGSTOP) continue;
      struct sigaction now;
      if (sigaction(sig, NULL, &now) != 0) continue;  /* glibc's own, or none */
      int ignore = (o->ignored_signals >> (sig - 1)) & 1;
      if (ignore || now.sa_handler == SIG_IGN) signal(sig, ignore ? SIG_IGN : SIG_DFL);
    }
  }
  if (o->disable_core_dumps) {
    struct rlimit zero = {0, 0};
    setrlimit(RLIMIT_CORE, &zero);
  }
  if (o->new_process_group) setpgid(0, 0);
  if (o->stdin_fd >= 0 && o->stdin_fd != 0) dup2(o->stdin_fd, 0);
  if (o->stdout_fd >= 0 && o->stdout_fd != 1) dup2(o->stdout_fd, 1);
  if (o->stderr_fd >= 0 && o->stderr_fd != 2) dup2(o->stderr_fd, 2);
  if (o->cwd && chdir(o->cwd) != 0) write_errno_and_exit(error_pipe_fd, 127);
  if (o->bind_sources && o->bind_sources[0]) {
    if (unshare(CLONE_NEWNS) != 0) write_errno_and_exit(error_pipe_fd, 125);
    /* Keep our mounts from propagating back to the parent namespace. */
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) write_errno_and_exit(error_pipe_fd, 125);
    for (int i = 0; o->bind_sources[i]; i++) {
      if (mount(o->bind_sources[i], o->bind_targets[i], NULL, MS_BIND, NULL) != 0)
        write_errno_and_exit(error_pipe_fd, 125);
    }
  }
  /* Kernel-chosen addresses (stack, mmap base, brk) must repeat between record and replay. */
  if (personality(ADDR_NO_RANDOMIZE) == -1) write_errno_and_exit(error_pipe_fd, 126);
  if (o->cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(o->cpu, &set);
    sched_setaffinity(0, sizeof set, &set);
  }
  if (o->trap_rdtsc && prctl(PR_SET_TSC, PR_TSC_SIGSEGV, 0, 0, 0) != 0)
    write_errno_and_exit(error_pipe_fd, 126);
  /* The tracer dies, we die: no orphaned tracee runs on untraced. */
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  if (ptrace(PTRACE_TRACEME, 0, 0, 0) != 0) write_errno_and_exit(error_pipe_fd, 126);
  raise(SIGSTOP);
  if (o->syscall_buffer_filter && install_buffer_filter() != 0) write_errno_and_exit(error_pipe_fd, 125);
  execve(o->path, o->argv, o->envp);
  write_errno_and_exit(error_pipe_fd, errno == ENOENT ? 127 : 126);
  return -1; /* not reached */
}

int rewind_user_regs_size(void) { return (int)sizeof(struct user_regs_struct); }

uintptr_t rewind_offsetof_user_debugreg(int index) {
  return offsetof(struct user, u_debugreg) + (uintptr_t)index * sizeof(unsigned long);
}


static int perf_open(struct perf_event_attr *attr, pid_t pid, int cpu) {
  return (int)syscall(SYS_perf_event_open, attr, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC);
}

int rewind_perf_event_open_sw(uint32_t config, pid_t pid, int cpu) {
  struct perf_event_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.size = sizeof attr;
  attr.type = PERF_TYPE_SOFTWARE;
  attr.config = config;
  attr.exclude_kernel = 1;
  return perf_open(&attr, pid, cpu);
}

int rewind_perf_event_open_hw_probe(void) {
  struct perf_event_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.size = sizeof attr;
  attr.type = PERF_TYPE_HARDWARE;
  attr.config = PERF_COUNT_HW_BRANCH_INSTRUCTIONS;
  attr.exclude_kernel = 1;
  int fd = perf_open(&attr, 0, -1);
  if (fd >= 0) close(fd);
  return fd >= 0 ? 0 : -errno;
}

static volatile int breakpoint_probe_target;

int rewind_perf_event_open_breakpoint_probe(void) {
  struct perf_event_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.size = sizeof attr;
  attr.type = PERF_TYPE_BREAKPOINT;
  attr.bp_type = HW_BREAKPOINT_W;
  attr.bp_addr = (uintptr_t)&breakpoint_probe_target;
  attr.bp_len = HW_BREAKPOINT_LEN_4;
  attr.exclude_kernel = 1;
  int fd = perf_open(&attr, 0, -1);
  if (fd >= 0) close(fd);
  return fd >= 0 ? 0 : -errno;
}

int rewind_set_personality_no_randomize(void) {
  return personality(ADDR_NO_RANDOMIZE) == -1 ? -errno : 0;
}

int rewind_pin_to_cpu(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return sched_setaffinity(0, sizeof set, &set) == 0 ? 0 : -errno;
}

int rewind_cpuid_faulting_available(void) {
  /* ARCH_GET_CPUID answers whether CPUID currently works; ARCH_SET_CPUID(0) asks to make it
     fault. Try it in a throwaway child so this process is not changed. */
  pid_t pid = fork();
  if (pid == 0) _exit(syscall(SYS_arch_prctl, ARCH_SET_CPUID, 0) == 0 ? 0 : 1);
  if (pid < 0) return -errno;
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int rewind_rdtsc_trapping_available(void) {
  pid_t pid = fork();
  if (pid == 0) _exit(prctl(PR_SET_TSC, PR_TSC_SIGSEGV, 0, 0, 0) == 0 ? 0 : 1);
  if (pid < 0) return -errno;
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int rewind_seccomp_available(void) {
  int r = prctl(PR_GET_SECCOMP, 0, 0, 0, 0);
  return r >= 0;
}

long rewind_process_vm_readv(pid_t pid, void *local, size_t count, uintptr_t remote) {
  struct iovec l = {local, count};
  struct iovec r = {(void *)remote, count};
  return process_vm_readv(pid, &l, 1, &r, 1, 0);
}

int rewind_sched_getcpu(void) { return sched_getcpu(); }

static struct sigaction previous_segv_action;

uint64_t rewind_read_tsc_while_trapped(int rdtscp, uint32_t *aux) {
  prctl(PR_SET_TSC, PR_TSC_ENABLE, 0, 0, 0);
  uint64_t value = rdtscp ? __rdtscp(aux) : __rdtsc();
  prctl(PR_SET_TSC, PR_TSC_SIGSEGV, 0, 0, 0);
  return value;
}

static void on_segv(int signal, siginfo_t *info, void *context) {
  ucontext_t *uc = context;
  const unsigned char *ip = (const unsigned char *)uc->uc_mcontext.gregs[REG_RIP];
  if (info->si_code == SI_KERNEL && ip[0] == 0x0f && (ip[1] == 0x31 || (ip[1] == 0x01 && ip[2] == 0xf9))) {
    int rdtscp = ip[1] == 0x01;
    uint32_t aux = 0;
    uint64_t value = rewind_read_tsc_while_trapped(rdtscp, &aux);
    uc->uc_mcontext.gregs[REG_RAX] = (greg_t)(value & 0xffffffffu);
    uc->uc_mcontext.gregs[REG_RDX] = (greg_t)(value >> 32);
    if (rdtscp) uc->uc_mcontext.gregs[REG_RCX] = (greg_t)aux;
    uc->uc_mcontext.gregs[REG_RIP] += rdtscp ? 3 : 2;
    return;
  }
  /* A real fault: hand it to whoever handled SIGSEGV before us (the Swift runtime's crash
     reporter, or the default action) by returning into the faulting instruction. */
  sigaction(SIGSEGV, &previous_segv_action, NULL);
  (void)signal;
}

int rewind_trap_tsc_in_this_thread(void) {
  static int installed;
  if (!installed) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = on_segv;
    action.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&action.sa_mask);
    if (sigaction(SIGSEGV, &action, &previous_segv_action) != 0) return -errno;
    installed = 1;
  }
  return prctl(PR_SET_TSC, PR_TSC_SIGSEGV, 0, 0, 0) == 0 ? 0 : -errno;
}

int rewind_become_subreaper(void) { return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0 ? 0 : -errno; }

int rewind_set_affinity(pid_t pid, int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return sched_setaffinity(pid, sizeof set, &set) == 0 ? 0 : -errno;
}

int rewind_cpu_is_allowed(int cpu) {
  static cpu_set_t allowed;
  static int known;
  if (!known) {
    CPU_ZERO(&allowed);
    if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) return cpu == 0;
    known = 1;
  }
  return cpu >= 0 && cpu < CPU_SETSIZE && CPU_ISSET(cpu, &allowed);
}

uint64_t rewind_monotonic_nanoseconds(void) {
  struct timespec now;
  syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &now);
  return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

static void do_nothing(int sig) { (void)sig; }

int rewind_install_wakeup_signal(int sig) {
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = do_nothing;
  sigemptyset(&action.sa_mask);
  if (sigaction(sig, &action, NULL) != 0) return -errno;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, sig);
  return -pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

long rewind_get_robust_list(pid_t tid, uint64_t *head, uint64_t *length) {
  void *list = NULL;
  size_t size = 0;
  long r = syscall(SYS_get_robust_list, tid, &list, &size);
  *head = (uint64_t)(uintptr_t)list;
  *length = size;
  return r;
}

long rewind_thread_timer_create(int sig) {
  struct sigevent event;
  memset(&event, 0, sizeof event);
  event.sigev_notify = SIGEV_THREAD_ID;
  event.sigev_signo = sig;
  event._sigev_un._tid = (pid_t)syscall(SYS_gettid);
  timer_t timer;
  if (timer_create(CLOCK_MONOTONIC, &event, &timer) != 0) return -errno;
  return (long)(intptr_t)timer;
}

int rewind_thread_timer_set(long timer, uint64_t nanoseconds, uint64_t interval) {
  struct itimerspec spec;
  spec.it_value.tv_sec = (time_t)(nanoseconds / 1000000000u);
  spec.it_value.tv_nsec = (long)(nanoseconds % 1000000000u);
  spec.it_interval.tv_sec = (time_t)(interval / 1000000000u);
  spec.it_interval.tv_nsec = (long)(interval % 1000000000u);
  return timer_settime((timer_t)(intptr_t)timer, 0, &spec, NULL) == 0 ? 0 : -errno;
}

void rewind_thread_timer_delete(long timer) { timer_delete((timer_t)(intptr_t)timer); }

int rewind_realtime_signal(int n) { return SIGRTMIN + n; }
