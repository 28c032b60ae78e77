#ifndef REWIND_CVMSUPPORT_H
#define REWIND_CVMSUPPORT_H
#include <sys/types.h>

/// Starts argv[0] (searched in PATH) as a child that dies with this thread (PR_SET_PDEATHSIG,
/// SIGKILL), so a QEMU is never left behind by a rewind that is killed. stdin is /dev/null,
/// stdout and stderr go to output_fd. With own_group the child leads a process group of its
/// own, so the terminal's Ctrl-C (meant for gdb) does not reach it. Returns the pid, or -1
/// with errno set when fork fails; a failed exec exits the child with status 127.
pid_t rewind_vm_spawn(char *const argv[], int output_fd, int own_group);

/// Installs a handler for SIGINT, SIGTERM and SIGHUP that only records the signal (read with
/// rewind_vm_pending_signal), instead of ending rewind with children to clean up.
void rewind_vm_catch_signals(void);
/// The last signal caught since rewind_vm_catch_signals, or 0.
int rewind_vm_pending_signal(void);
#endif
