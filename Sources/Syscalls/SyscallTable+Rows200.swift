// Rows 200-299 of <asm/unistd_64.h>, in number order.

extension SyscallTable {
  static let rows200: [Syscall] = [
    Syscall(200, "tkill", [.pid, .signal], .special),
    Syscall(201, "time", [.outStruct(.int64)], .emulate),
    // Outputs of the PI and WAKE_OP operations are in Syscall+WrittenRegions.swift. Waits are
    // emulated: replay already runs the threads in the recorded order.
    Syscall(202, "futex", [.address, .futexOp, .int, .address, .address, .int], .emulate),
    // The recorder pins tracees itself; the program's own choice is not performed again.
    Syscall(203, "sched_setaffinity", [.pid, .size, .inBytes(count: .arg(1))], .emulate),
    Syscall(204, "sched_getaffinity", [.pid, .size, .outBytes(count: .returnValue)], .emulate),
    Syscall(
      205, "set_thread_area", [.address],
      .notYetRecorded("set_thread_area", "32-bit thread-local storage")),
    Syscall(206, "io_setup", [.unsigned, .address], linuxAIO("io_setup")),
    Syscall(207, "io_destroy", [.hex], linuxAIO("io_destroy")),
    Syscall(208, "io_getevents", [.hex, .int, .int, .address, .address], linuxAIO("io_getevents")),
    Syscall(209, "io_submit", [.hex, .int, .address], linuxAIO("io_submit")),
    Syscall(210, "io_cancel", [.hex, .address, .address], linuxAIO("io_cancel")),
    Syscall(
      211, "get_thread_area", [.address],
      .notYetRecorded("get_thread_area", "32-bit thread-local storage")),
    // Removed in Linux 6.10; until then it writes a path of result bytes.
    Syscall(212, "lookup_dcookie", [.hex, .outBytes(count: .returnValue), .size], .emulate),
    Syscall(213, "epoll_create", [.int], .emulate),
    // Rows 214, 215: not implemented by Linux, always ENOSYS.
    Syscall(214, "epoll_ctl_old", [.fd, .int, .fd, .address], .emulate),
    Syscall(215, "epoll_wait_old", [.fd, .address, .int, .int], .emulate),
    Syscall(216, "remap_file_pages", [.address, .size, .hex, .size, .hex], .execute),
    Syscall(217, "getdents64", [.fd, .outBytes(count: .returnValue), .unsigned], .emulate),
    // Returns the tid, which differs in replay.
    Syscall(218, "set_tid_address", [.address], .executeKeepRecordedResult),
    // Continues an interrupted call, which the replayer knows from the previous event.
    Syscall(219, "restart_syscall", [], .special),
    Syscall(
      220, "semtimedop", [.int, .address, .unsigned, .inStruct(.timespec)],
      .notYetRecorded("semtimedop", "System V IPC")),
    Syscall(221, "fadvise64", [.fd, .offset, .size, .named(.fadviseAdvice)], .emulate),
    Syscall(222, "timer_create", [.clockID, .inStruct(.sigevent), .outStruct(.int32)], .emulate),
    Syscall(
      223, "timer_settime", [.int, .hex, .inStruct(.itimerspec), .outStruct(.itimerspec)],
      .emulate),
    Syscall(224, "timer_gettime", [.int, .outStruct(.itimerspec)], .emulate),
    Syscall(225, "timer_getoverrun", [.int], .emulate),
    Syscall(226, "timer_delete", [.int], .emulate),
    Syscall(227, "clock_settime", [.clockID, .inStruct(.timespec)], .emulate),
    Syscall(228, "clock_gettime", [.clockID, .outStruct(.timespec)], .emulate),
    Syscall(229, "clock_getres", [.clockID, .outStruct(.timespec)], .emulate),
    // Writes the remaining time only when a signal interrupts a relative sleep.
    Syscall(
      230, "clock_nanosleep", [.clockID, .hex, .inStruct(.timespec), .outStruct(.timespec)],
      .emulate),
    Syscall(231, "exit_group", [.int], .special, returns: .none),
    Syscall(
      232, "epoll_wait",
      [.fd, .epollEvents, .int, .int], .emulate),
    Syscall(233, "epoll_ctl", [.fd, .epollOperation, .fd, .inStruct(.epollEvent)], .emulate),
    Syscall(234, "tgkill", [.pid, .pid, .signal], .special),
    Syscall(235, "utimes", [.path, .inStruct(.timevalPair)], .emulate),
    Syscall(236, "vserver", [.hex, .hex, .hex, .hex, .hex], .emulate),
    // NUMA placement changes performance, not results.
    Syscall(237, "mbind", [.address, .size, .int, .address, .unsigned, .hex], .emulate),
    Syscall(238, "set_mempolicy", [.int, .address, .unsigned], .emulate),
    Syscall(
      239, "get_mempolicy", [.address, .address, .unsigned, .address, .hex],
      .notYetRecorded("get_mempolicy")),
    Syscall(240, "mq_open", [.string, .openFlags, .mode, .address], .emulate),
    Syscall(241, "mq_unlink", [.string], .emulate),
    Syscall(
      242, "mq_timedsend",
      [.fd, .inBytes(count: .arg(2)), .size, .unsigned, .inStruct(.timespec)], .emulate),
    Syscall(
      243, "mq_timedreceive",
      [.fd, .outBytes(count: .returnValue), .size, .outStruct(.int32), .inStruct(.timespec)],
      .emulate),
    Syscall(244, "mq_notify", [.fd, .inStruct(.sigevent)], .emulate),
    Syscall(
      245, "mq_getsetattr", [.fd, .inStruct(.mqAttr), .outStruct(.mqAttr)], .emulate),
    Syscall(246, "kexec_load", [.address, .unsigned, .address, .hex], .emulate),
    Syscall(
      247, "waitid", [.int, .pid, .outStruct(.siginfo), .waitOptions, .outStruct(.rusage)],
      .emulate),
    Syscall(248, "add_key", [.string, .string, .inBytes(count: .arg(3)), .size, .int], .emulate),
    Syscall(249, "request_key", [.string, .string, .string, .int], .emulate),
    Syscall(250, "keyctl", [.int, .hex, .hex, .hex, .hex], .notYetRecorded("keyctl")),
    Syscall(251, "ioprio_set", [.int, .int, .int], .emulate),
    Syscall(252, "ioprio_get", [.int, .int], .emulate),
    Syscall(253, "inotify_init", [], .emulate),
    Syscall(254, "inotify_add_watch", [.fd, .path, .hex], .emulate),
    Syscall(255, "inotify_rm_watch", [.fd, .int], .emulate),
    Syscall(256, "migrate_pages", [.pid, .unsigned, .address, .address], .emulate),
    Syscall(257, "openat", [.dirfd, .path, .openFlags, .creationMode(flagsArg: 2)], .emulate),
    Syscall(258, "mkdirat", [.dirfd, .path, .mode], .emulate),
    Syscall(259, "mknodat", [.dirfd, .path, .mode, .hex], .emulate),
    Syscall(260, "fchownat", [.dirfd, .path, .uid, .uid, .atFlags], .emulate),
    Syscall(261, "futimesat", [.dirfd, .path, .inStruct(.timevalPair)], .emulate),
    Syscall(262, "newfstatat", [.dirfd, .path, .outStruct(.stat), .atFlags], .emulate),
    Syscall(263, "unlinkat", [.dirfd, .path, .atFlags], .emulate),
    Syscall(264, "renameat", [.dirfd, .path, .dirfd, .path], .emulate),
    Syscall(265, "linkat", [.dirfd, .path, .dirfd, .path, .atFlags], .emulate),
    Syscall(266, "symlinkat", [.path, .dirfd, .path], .emulate),
    Syscall(
      267, "readlinkat", [.dirfd, .path, .outBytes(count: .returnValue), .size], .emulate),
    Syscall(268, "fchmodat", [.dirfd, .path, .mode], .emulate),
    Syscall(269, "faccessat", [.dirfd, .path, .accessMode], .emulate),
    // The sixth argument points to {const sigset_t *, size_t}.
    Syscall(
      270, "pselect6",
      [
        .int, .fdSet(nfdsArg: 0), .fdSet(nfdsArg: 0), .fdSet(nfdsArg: 0),
        .inOutStruct(.timespec), .address,
      ], .emulate),
    Syscall(
      271, "ppoll",
      [.pollfds(countArg: 1), .unsigned, .inOutStruct(.timespec), .inSigset(size: .arg(4)), .size],
      .emulate),
    Syscall(272, "unshare", [.cloneFlags], .notYetRecorded("unshare", "namespaces")),
    // Replay performs it so the kernel still walks the list when the thread exits.
    Syscall(273, "set_robust_list", [.address, .size], .executeKeepRecordedResult),
    Syscall(
      274, "get_robust_list", [.pid, .outStruct(.int64), .outStruct(.int64)], .emulate),
    Syscall(
      275, "splice", [.fd, .inOutStruct(.int64), .fd, .inOutStruct(.int64), .size, .hex],
      .emulate),
    Syscall(276, "tee", [.fd, .fd, .size, .hex], .emulate),
    Syscall(277, "sync_file_range", [.fd, .offset, .offset, .hex], .emulate),
    Syscall(
      278, "vmsplice", [.fd, .address, .unsigned, .hex],
      .notYetRecorded("vmsplice", "it can copy pipe data into the program's memory")),
    Syscall(
      279, "move_pages", [.pid, .unsigned, .address, .address, .address, .hex],
      .notYetRecorded("move_pages")),
    // A NULL path means the file of the dirfd (futimens).
    Syscall(280, "utimensat", [.dirfd, .path, .inStruct(.timespecPair), .atFlags], .emulate),
    Syscall(
      281, "epoll_pwait",
      [
        .fd, .epollEvents, .int, .int,
        .inSigset(size: .arg(5)), .size,
      ], .emulate),
    Syscall(282, "signalfd", [.fd, .inSigset(size: .arg(2)), .size], .emulate),
    Syscall(283, "timerfd_create", [.clockID, .hex], .emulate),
    Syscall(284, "eventfd", [.unsigned], .emulate),
    Syscall(285, "fallocate", [.fd, .hex, .offset, .offset], .emulate),
    Syscall(
      286, "timerfd_settime", [.fd, .hex, .inStruct(.itimerspec), .outStruct(.itimerspec)],
      .emulate),
    Syscall(287, "timerfd_gettime", [.fd, .outStruct(.itimerspec)], .emulate),
    Syscall(
      288, "accept4",
      [.fd, .outSockaddr(lengthPointerArg: 2), .inOutStruct(.int32), .socketType], .emulate),
    Syscall(289, "signalfd4", [.fd, .inSigset(size: .arg(2)), .size, .hex], .emulate),
    Syscall(290, "eventfd2", [.unsigned, .flagSet(.eventfd)], .emulate),
    Syscall(291, "epoll_create1", [.flagSet(.epollCreate)], .emulate),
    Syscall(292, "dup3", [.fd, .fd, .descriptorFlags], .emulate),
    Syscall(293, "pipe2", [.outStruct(.fdPair), .descriptorFlags], .emulate),
    Syscall(294, "inotify_init1", [.hex], .emulate),
    // x86-64 passes the offset twice (pos_l, pos_h); the kernel uses pos_l.
    Syscall(295, "preadv", [.fd, .outIovecs(countArg: 2), .int, .offset, .offset], .emulate),
    Syscall(296, "pwritev", [.fd, .inIovecs(countArg: 2), .int, .offset, .offset], .emulate),
    Syscall(297, "rt_tgsigqueueinfo", [.pid, .pid, .signal, .inStruct(.siginfo)], .special),
    Syscall(
      298, "perf_event_open", [.address, .pid, .int, .fd, .hex],
      .unsupported(
        "rewind cannot record perf_event_open: the kernel fills its ring buffer outside system "
          + "calls. Record the program with its profiling turned off.")),
    Syscall(
      299, "recvmmsg",
      [.fd, .outMmsghdrs(countArg: 2), .unsigned, .hex, .inOutStruct(.timespec)], .emulate),
  ]

  private static func linuxAIO(_ name: String) -> ReplayPolicy {
    .notYetRecorded(name, "Linux AIO completes into memory outside system calls")
  }
}
