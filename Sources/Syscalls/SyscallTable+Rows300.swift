// Rows 300-450 of <asm/unistd_64.h>, in number order (335-423 are unused on x86-64).

extension SyscallTable {
  static let rows300: [Syscall] = [
    Syscall(300, "fanotify_init", [.hex, .hex], .emulate),
    Syscall(301, "fanotify_mark", [.fd, .hex, .hex, .dirfd, .path], .emulate),
    Syscall(302, "prlimit64", [.pid, .named(.rlimitResource), .inStruct(.rlimit), .outStruct(.rlimit)], .emulate),
    Syscall(
      303, "name_to_handle_at", [.dirfd, .path, .address, .address, .atFlags],
      .notYetRecorded("name_to_handle_at")),
    Syscall(304, "open_by_handle_at", [.fd, .address, .openFlags], .emulate),
    Syscall(305, "clock_adjtime", [.clockID, .inOutStruct(.timex)], .emulate),
    Syscall(306, "syncfs", [.fd], .emulate),
    Syscall(307, "sendmmsg", [.fd, .inMmsghdrs(countArg: 2), .unsigned, .hex], .emulate),
    Syscall(308, "setns", [.fd, .cloneFlags], .notYetRecorded("setns", "namespaces")),
    Syscall(309, "getcpu", [.outStruct(.int32), .outStruct(.int32), .address], .emulate),
    Syscall(
      310, "process_vm_readv", [.pid, .address, .unsigned, .address, .unsigned, .hex],
      .unsupported(
        "rewind cannot record process_vm_readv: it reads another process's memory, "
          + "which replay does not reproduce. Record that process too, or avoid the call.")),
    Syscall(
      311, "process_vm_writev", [.pid, .address, .unsigned, .address, .unsigned, .hex],
      .unsupported(
        "rewind cannot record process_vm_writev: it writes another process's memory, "
          + "which replay does not reproduce. Record that process too, or avoid the call.")),
    Syscall(312, "kcmp", [.pid, .pid, .int, .hex, .hex], .emulate),
    Syscall(313, "finit_module", [.fd, .string, .hex], .emulate),
    Syscall(314, "sched_setattr", [.pid, .address, .hex], .emulate),
    // Writes min(size, 56) bytes; see Syscall+WrittenRegions.swift.
    Syscall(315, "sched_getattr", [.pid, .outBytes(count: .arg(2)), .unsigned, .hex], .emulate),
    Syscall(316, "renameat2", [.dirfd, .path, .dirfd, .path, .hex], .emulate),
    Syscall(
      317, "seccomp", [.int, .hex, .address],
      .notYetRecorded("seccomp", "its filters would stack on rewind's own")),
    Syscall(318, "getrandom", [.outBytes(count: .returnValue), .size, .flagSet(.getrandom)], .emulate),
    Syscall(319, "memfd_create", [.string, .hex], .emulate),
    Syscall(320, "kexec_file_load", [.fd, .fd, .unsigned, .string, .hex], .emulate),
    Syscall(
      321, "bpf", [.int, .address, .unsigned],
      .unsupported(
        "rewind cannot record bpf: BPF maps share memory with the kernel outside system calls. "
          + "Record the program without its BPF features.")),
    Syscall(322, "execveat", [.dirfd, .path, .stringArray, .environment, .atFlags], .special),
    Syscall(
      323, "userfaultfd", [.hex],
      .unsupported(
        "rewind cannot record userfaultfd: another thread fills the faulting pages through the "
          + "kernel, outside the recorded system calls.")),
    Syscall(324, "membarrier", [.hex, .hex, .int], .emulate),
    Syscall(325, "mlock2", [.address, .size, .hex], .emulate),
    Syscall(
      326, "copy_file_range",
      [.fd, .inOutStruct(.int64), .fd, .inOutStruct(.int64), .size, .hex], .emulate),
    Syscall(
      327, "preadv2", [.fd, .outIovecs(countArg: 2), .int, .offset, .offset, .hex], .emulate),
    Syscall(
      328, "pwritev2", [.fd, .inIovecs(countArg: 2), .int, .offset, .offset, .hex], .emulate),
    Syscall(329, "pkey_mprotect", [.address, .size, .prot, .int], .execute),
    Syscall(330, "pkey_alloc", [.hex, .hex], .execute),
    Syscall(331, "pkey_free", [.int], .execute),
    Syscall(332, "statx", [.dirfd, .path, .atFlags, .flagSet(.statxMask), .outStruct(.statx)], .emulate),
    Syscall(
      333, "io_pgetevents", [.hex, .int, .int, .address, .address, .address],
      .notYetRecorded("io_pgetevents", "Linux AIO completes into memory outside system calls")),
    // The kernel writes the rseq area at every preemption; the recorder fails it with ENOSYS.
    Syscall(334, "rseq", [.address, .hex, .hex, .hex], .special),
    Syscall(424, "pidfd_send_signal", [.fd, .signal, .inStruct(.siginfo), .hex], .special),
    // The kernel reads and writes io_uring's rings outside system calls; the recorder fails
    // io_uring_setup with ENOSYS, and programs fall back to read and write.
    Syscall(425, "io_uring_setup", [.unsigned, .address], .special),
    Syscall(
      426, "io_uring_enter", [.fd, .unsigned, .unsigned, .hex, .address, .size],
      ioUring("io_uring_enter")),
    Syscall(
      427, "io_uring_register", [.fd, .unsigned, .address, .unsigned],
      ioUring("io_uring_register")),
    Syscall(428, "open_tree", [.dirfd, .path, .hex], .emulate),
    Syscall(429, "move_mount", [.dirfd, .path, .dirfd, .path, .hex], .emulate),
    Syscall(430, "fsopen", [.string, .hex], .emulate),
    Syscall(431, "fsconfig", [.fd, .unsigned, .string, .address, .int], .emulate),
    Syscall(432, "fsmount", [.fd, .hex, .hex], .emulate),
    Syscall(433, "fspick", [.dirfd, .path, .hex], .emulate),
    Syscall(434, "pidfd_open", [.pid, .hex], .emulate),
    // clone_args also asks the kernel to store tids and a pidfd; the engines handle it.
    Syscall(435, "clone3", [.inBytes(count: .arg(1)), .size], .special),
    Syscall(436, "close_range", [.unsigned, .unsigned, .hex], .emulate),
    Syscall(437, "openat2", [.dirfd, .path, .inStruct(.openHow), .size], .emulate),
    Syscall(438, "pidfd_getfd", [.fd, .fd, .hex], .emulate),
    Syscall(439, "faccessat2", [.dirfd, .path, .accessMode, .atFlags], .emulate),
    Syscall(440, "process_madvise", [.fd, .address, .size, .madviseAdvice, .hex], .emulate),
    Syscall(
      441, "epoll_pwait2",
      [
        .fd, .epollEvents, .int,
        .inStruct(.timespec), .inSigset(size: .arg(5)), .size,
      ], .emulate),
    Syscall(442, "mount_setattr", [.dirfd, .path, .hex, .address, .size], .emulate),
    Syscall(443, "quotactl_fd", [.fd, .hex, .int, .address], .notYetRecorded("quotactl_fd")),
    Syscall(444, "landlock_create_ruleset", [.inBytes(count: .arg(1)), .size, .hex], .emulate),
    Syscall(445, "landlock_add_rule", [.fd, .int, .address, .hex], .emulate),
    Syscall(446, "landlock_restrict_self", [.fd, .hex], .emulate),
    Syscall(447, "memfd_secret", [.hex], .emulate),
    Syscall(448, "process_mrelease", [.fd, .hex], .emulate),
    Syscall(449, "futex_waitv", [.address, .unsigned, .hex, .inStruct(.timespec), .clockID], .emulate),
    Syscall(450, "set_mempolicy_home_node", [.address, .size, .unsigned, .hex], .emulate),
  ]

  private static func ioUring(_ name: String) -> ReplayPolicy {
    .unsupported(
      "rewind cannot record \(name) on a ring: the kernel reads and writes io_uring's rings outside "
        + "system calls. rewind fails io_uring_setup with ENOSYS, so that programs fall back to read and "
        + "write; this process uses a ring it was given (set up before recording, or passed to it), "
        + "which cannot be recorded. Record the program that sets the ring up instead.")
  }
}
