// Rows 100-199 of <asm/unistd_64.h>, in number order.

extension SyscallTable {
  static let rows100: [Syscall] = [
    Syscall(100, "times", [.outStruct(.tms)], .emulate),
    Syscall(
      101, "ptrace", [.int, .pid, .address, .address],
      .unsupported("rewind cannot record a program that is itself a tracer")),
    Syscall(102, "getuid", [], .emulate),
    // Only the read actions (2, 3, 4) write the buffer; see Syscall+WrittenRegions.swift.
    Syscall(103, "syslog", [.int, .outBytes(count: .returnValue), .int], .emulate),
    Syscall(104, "getgid", [], .emulate),
    Syscall(105, "setuid", [.uid], .emulate),
    Syscall(106, "setgid", [.uid], .emulate),
    Syscall(107, "geteuid", [], .emulate),
    Syscall(108, "getegid", [], .emulate),
    Syscall(109, "setpgid", [.pid, .pid], .emulate),
    Syscall(110, "getppid", [], .emulate),
    Syscall(111, "getpgrp", [], .emulate),
    Syscall(112, "setsid", [], .emulate),
    Syscall(113, "setreuid", [.uid, .uid], .emulate),
    Syscall(114, "setregid", [.uid, .uid], .emulate),
    // With size 0 the call only counts the groups; see Syscall+WrittenRegions.swift.
    Syscall(
      115, "getgroups", [.int, .outBytes(count: .returnValueElements(elementSize: 4))], .emulate),
    Syscall(116, "setgroups", [.int, .inBytes(count: .argElements(0, elementSize: 4))], .emulate),
    Syscall(117, "setresuid", [.uid, .uid, .uid], .emulate),
    Syscall(
      118, "getresuid", [.outStruct(.int32), .outStruct(.int32), .outStruct(.int32)], .emulate),
    Syscall(119, "setresgid", [.uid, .uid, .uid], .emulate),
    Syscall(
      120, "getresgid", [.outStruct(.int32), .outStruct(.int32), .outStruct(.int32)], .emulate),
    Syscall(121, "getpgid", [.pid], .emulate),
    Syscall(122, "setfsuid", [.uid], .emulate),
    Syscall(123, "setfsgid", [.uid], .emulate),
    Syscall(124, "getsid", [.pid], .emulate),
    // The data size depends on the header's version; see Syscall+WrittenRegions.swift.
    Syscall(125, "capget", [.inOutStruct(.capHeader), .address], .emulate),
    Syscall(126, "capset", [.inStruct(.capHeader), .inBytes(count: .fixed(24))], .emulate),
    Syscall(127, "rt_sigpending", [.outSigset(size: .arg(1)), .size], .emulate),
    Syscall(
      128, "rt_sigtimedwait",
      [.inSigset(size: .arg(3)), .outStruct(.siginfo), .inStruct(.timespec), .size], .emulate),
    Syscall(129, "rt_sigqueueinfo", [.pid, .signal, .inStruct(.siginfo)], .special),
    // The temporary mask decides which recorded signal may arrive during the call.
    Syscall(130, "rt_sigsuspend", [.inSigset(size: .arg(1)), .size], .special),
    Syscall(131, "sigaltstack", [.inStruct(.stack), .outStruct(.stack)], .execute),
    Syscall(132, "utime", [.path, .inStruct(.utimbuf)], .emulate),
    Syscall(133, "mknod", [.path, .mode, .hex], .emulate),
    Syscall(134, "uselib", [.path], .notYetRecorded("uselib", "it maps a library")),
    // ASLR stays off in record and replay, so the persona replays by itself.
    Syscall(135, "personality", [.hex], .execute, returns: .hex),
    Syscall(136, "ustat", [.hex, .outStruct(.ustat)], .emulate),
    Syscall(137, "statfs", [.path, .outStruct(.statfs)], .emulate),
    Syscall(138, "fstatfs", [.fd, .outStruct(.statfs)], .emulate),
    Syscall(139, "sysfs", [.int, .address, .address], .notYetRecorded("sysfs")),
    Syscall(140, "getpriority", [.int, .int], .emulate),
    Syscall(141, "setpriority", [.int, .int, .int], .emulate),
    Syscall(142, "sched_setparam", [.pid, .inStruct(.schedParam)], .emulate),
    Syscall(143, "sched_getparam", [.pid, .outStruct(.schedParam)], .emulate),
    Syscall(144, "sched_setscheduler", [.pid, .int, .inStruct(.schedParam)], .emulate),
    Syscall(145, "sched_getscheduler", [.pid], .emulate),
    Syscall(146, "sched_get_priority_max", [.int], .emulate),
    Syscall(147, "sched_get_priority_min", [.int], .emulate),
    Syscall(148, "sched_rr_get_interval", [.pid, .outStruct(.timespec)], .emulate),
    Syscall(149, "mlock", [.address, .size], .emulate),
    Syscall(150, "munlock", [.address, .size], .emulate),
    Syscall(151, "mlockall", [.hex], .emulate),
    Syscall(152, "munlockall", [], .emulate),
    Syscall(153, "vhangup", [], .emulate),
    Syscall(
      154, "modify_ldt", [.int, .address, .size],
      .notYetRecorded("modify_ldt", "it changes the local descriptor table")),
    Syscall(155, "pivot_root", [.path, .path], .emulate),
    // Not implemented by Linux 5.5+: always ENOSYS, so the recorded error replays.
    Syscall(156, "_sysctl", [.address], .emulate),
    // Per-option outputs are in Syscall+WrittenRegions.swift. Replay performs it so kernel-side
    // state (thread name, dumpable, no_new_privs, subreaper) matches; the recorder refuses the
    // options that would fight it (PR_SET_TSC, PR_SET_SECCOMP).
    Syscall(157, "prctl", [.prctlOption, .hex, .hex, .hex, .hex], .executeKeepRecordedResult),
    Syscall(158, "arch_prctl", [.archPrctlCode, .address], .execute),
    Syscall(159, "adjtimex", [.inOutStruct(.timex)], .emulate),
    // pids differ in replay (getpid is emulated), so a limit change is not performed again.
    Syscall(160, "setrlimit", [.named(.rlimitResource), .inStruct(.rlimit)], .emulate),
    Syscall(161, "chroot", [.path], .emulate),
    Syscall(162, "sync", [], .emulate),
    Syscall(163, "acct", [.path], .emulate),
    Syscall(164, "settimeofday", [.inStruct(.timeval), .inStruct(.timezone)], .emulate),
    Syscall(165, "mount", [.string, .path, .string, .hex, .address], .emulate),
    Syscall(166, "umount2", [.path, .hex], .emulate),
    Syscall(167, "swapon", [.path, .hex], .emulate),
    Syscall(168, "swapoff", [.path], .emulate),
    Syscall(169, "reboot", [.hex, .hex, .hex, .address], .emulate),
    Syscall(170, "sethostname", [.inBytes(count: .arg(1)), .size], .emulate),
    Syscall(171, "setdomainname", [.inBytes(count: .arg(1)), .size], .emulate),
    Syscall(
      172, "iopl", [.int], .notYetRecorded("iopl", "it changes which instructions may run")),
    Syscall(
      173, "ioperm", [.hex, .hex, .int],
      .notYetRecorded("ioperm", "it changes which instructions may run")),
    // Rows 174, 177-178, 180-185: not implemented by Linux, always ENOSYS.
    Syscall(174, "create_module", [.string, .size], .emulate),
    Syscall(175, "init_module", [.address, .size, .string], .emulate),
    Syscall(176, "delete_module", [.string, .hex], .emulate),
    Syscall(177, "get_kernel_syms", [.address], .emulate),
    Syscall(178, "query_module", [.string, .int, .address, .size, .address], .emulate),
    Syscall(179, "quotactl", [.hex, .path, .int, .address], .notYetRecorded("quotactl")),
    Syscall(180, "nfsservctl", [.int, .address, .address], .emulate),
    Syscall(181, "getpmsg", [.hex, .hex, .hex, .hex, .hex], .emulate),
    Syscall(182, "putpmsg", [.hex, .hex, .hex, .hex, .hex], .emulate),
    Syscall(183, "afs_syscall", [.hex, .hex, .hex, .hex, .hex], .emulate),
    Syscall(184, "tuxcall", [.hex, .hex, .hex], .emulate),
    Syscall(185, "security", [.hex, .hex, .hex], .emulate),
    Syscall(186, "gettid", [], .emulate),
    Syscall(187, "readahead", [.fd, .offset, .size], .emulate),
    Syscall(
      188, "setxattr", [.path, .string, .inBytes(count: .arg(3)), .size, .hex], .emulate),
    Syscall(
      189, "lsetxattr", [.path, .string, .inBytes(count: .arg(3)), .size, .hex], .emulate),
    Syscall(190, "fsetxattr", [.fd, .string, .inBytes(count: .arg(3)), .size, .hex], .emulate),
    // The *getxattr and *listxattr calls write nothing when asked for the size (size 0).
    Syscall(191, "getxattr", [.path, .string, .outBytes(count: .returnValue), .size], .emulate),
    Syscall(192, "lgetxattr", [.path, .string, .outBytes(count: .returnValue), .size], .emulate),
    Syscall(193, "fgetxattr", [.fd, .string, .outBytes(count: .returnValue), .size], .emulate),
    Syscall(194, "listxattr", [.path, .outBytes(count: .returnValue), .size], .emulate),
    Syscall(195, "llistxattr", [.path, .outBytes(count: .returnValue), .size], .emulate),
    Syscall(196, "flistxattr", [.fd, .outBytes(count: .returnValue), .size], .emulate),
    Syscall(197, "removexattr", [.path, .string], .emulate),
    Syscall(198, "lremovexattr", [.path, .string], .emulate),
    Syscall(199, "fremovexattr", [.fd, .string], .emulate),
  ]
}
