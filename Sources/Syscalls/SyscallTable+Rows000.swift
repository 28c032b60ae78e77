// Rows 0-99 of <asm/unistd_64.h>, in number order. One row per call: number, name, argument
// kinds (which say what the call reads and writes), replay policy.

extension SyscallTable {
  static let rows000: [Syscall] = [
    Syscall(0, "read", [.fd, .outBytes(count: .returnValue), .size], .emulate),
    Syscall(1, "write", [.fd, .inBytes(count: .arg(2)), .size], .emulate),
    Syscall(2, "open", [.path, .openFlags, .creationMode(flagsArg: 1)], .emulate),
    Syscall(3, "close", [.fd], .emulate),
    Syscall(4, "stat", [.path, .outStruct(.stat)], .emulate),
    Syscall(5, "fstat", [.fd, .outStruct(.stat)], .emulate),
    Syscall(6, "lstat", [.path, .outStruct(.stat)], .emulate),
    Syscall(7, "poll", [.pollfds(countArg: 1), .unsigned, .int], .emulate),
    Syscall(8, "lseek", [.fd, .offset, .whence], .emulate),
    Syscall(
      9, "mmap", [.address, .size, .prot, .mapFlags, .fd, .hex], .special, returns: .address),
    Syscall(10, "mprotect", [.address, .size, .prot], .execute),
    Syscall(11, "munmap", [.address, .size], .execute),
    Syscall(12, "brk", [.address], .execute, returns: .address),
    Syscall(
      13, "rt_sigaction",
      [.signal, .inStruct(.kernelSigaction), .outStruct(.kernelSigaction), .size], .execute),
    Syscall(
      14, "rt_sigprocmask",
      [.sigprocmaskHow, .inSigset(size: .arg(3)), .outSigset(size: .arg(3)), .size], .execute),
    // The result is the restored rax, which replay restores from the same frame.
    Syscall(15, "rt_sigreturn", [], .execute),
    // Outputs depend on the request; see Ioctl.swift and Syscall+WrittenRegions.swift.
    Syscall(16, "ioctl", [.fd, .ioctlRequest, .address], .emulate),
    Syscall(17, "pread64", [.fd, .outBytes(count: .returnValue), .size, .offset], .emulate),
    Syscall(18, "pwrite64", [.fd, .inBytes(count: .arg(2)), .size, .offset], .emulate),
    Syscall(19, "readv", [.fd, .outIovecs(countArg: 2), .int], .emulate),
    Syscall(20, "writev", [.fd, .inIovecs(countArg: 2), .int], .emulate),
    Syscall(21, "access", [.path, .accessMode], .emulate),
    Syscall(22, "pipe", [.outStruct(.fdPair)], .emulate),
    Syscall(
      23, "select",
      [.int, .fdSet(nfdsArg: 0), .fdSet(nfdsArg: 0), .fdSet(nfdsArg: 0), .inOutStruct(.timeval)],
      .emulate),
    Syscall(24, "sched_yield", [], .emulate),
    Syscall(
      25, "mremap", [.address, .size, .size, .mremapFlags, .address], .execute, returns: .address),
    // Writing dirty pages back to a file is I/O, which replay never repeats.
    Syscall(26, "msync", [.address, .size, .hex], .emulate),
    Syscall(27, "mincore", [.address, .size, .outBytes(count: .pagesOfArg(1))], .emulate),
    Syscall(28, "madvise", [.address, .size, .madviseAdvice], .execute),
    Syscall(29, "shmget", [.int, .size, .hex], .emulate),
    Syscall(
      30, "shmat", [.int, .address, .hex], .special,
      returns: .address),
    Syscall(31, "shmctl", [.int, .int, .address], .emulate),
    Syscall(32, "dup", [.fd], .emulate),
    Syscall(33, "dup2", [.fd, .fd], .emulate),
    Syscall(34, "pause", [], .emulate),
    // Writes the remaining time only when a signal interrupts it.
    Syscall(35, "nanosleep", [.inStruct(.timespec), .outStruct(.timespec)], .emulate),
    Syscall(36, "getitimer", [.named(.itimerWhich), .outStruct(.itimerval)], .emulate),
    Syscall(37, "alarm", [.unsigned], .emulate),
    Syscall(38, "setitimer", [.named(.itimerWhich), .inStruct(.itimerval), .outStruct(.itimerval)], .emulate),
    Syscall(39, "getpid", [], .emulate),
    Syscall(40, "sendfile", [.fd, .fd, .inOutStruct(.int64), .size], .emulate),
    Syscall(41, "socket", [.socketDomain, .socketType, .int], .emulate),
    Syscall(42, "connect", [.fd, .inSockaddr(lengthArg: 2), .unsigned], .emulate),
    Syscall(
      43, "accept", [.fd, .outSockaddr(lengthPointerArg: 2), .inOutStruct(.int32)], .emulate),
    Syscall(
      44, "sendto",
      [.fd, .inBytes(count: .arg(2)), .size, .hex, .inSockaddr(lengthArg: 5), .unsigned],
      .emulate),
    Syscall(
      45, "recvfrom",
      [
        .fd, .outBytes(count: .returnValue), .size, .hex, .outSockaddr(lengthPointerArg: 5),
        .inOutStruct(.int32),
      ], .emulate),
    Syscall(46, "sendmsg", [.fd, .inMsghdr, .hex], .emulate),
    Syscall(47, "recvmsg", [.fd, .outMsghdr, .hex], .emulate),
    Syscall(48, "shutdown", [.fd, .int], .emulate),
    Syscall(49, "bind", [.fd, .inSockaddr(lengthArg: 2), .unsigned], .emulate),
    Syscall(50, "listen", [.fd, .int], .emulate),
    Syscall(
      51, "getsockname", [.fd, .outSockaddr(lengthPointerArg: 2), .inOutStruct(.int32)], .emulate
    ),
    Syscall(
      52, "getpeername", [.fd, .outSockaddr(lengthPointerArg: 2), .inOutStruct(.int32)], .emulate
    ),
    Syscall(
      53, "socketpair", [.socketDomain, .socketType, .int, .outStruct(.fdPair)], .emulate),
    Syscall(54, "setsockopt", [.fd, .named(.socketLevel), .socketOption(levelArg: 1), .inBytes(count: .arg(4)), .unsigned], .emulate),
    Syscall(
      55, "getsockopt",
      [.fd, .named(.socketLevel), .socketOption(levelArg: 1), .outBytes(count: .valueResultArg(4)), .inOutStruct(.int32)], .emulate),
    // x86-64 order: flags, stack, parent_tid, child_tid, tls.
    Syscall(56, "clone", [.cloneFlags, .address, .address, .address, .hex], .special),
    Syscall(57, "fork", [], .special),
    Syscall(58, "vfork", [], .special),
    Syscall(59, "execve", [.path, .stringArray, .environment], .special),
    Syscall(60, "exit", [.int], .special, returns: .none),
    Syscall(
      61, "wait4", [.pid, .outStruct(.int32), .waitOptions, .outStruct(.rusage)], .emulate),
    Syscall(62, "kill", [.pid, .signal], .special),
    Syscall(63, "uname", [.outStruct(.utsname)], .emulate),
    Syscall(64, "semget", [.int, .int, .hex], .notYetRecorded("semget", "System V IPC")),
    Syscall(65, "semop", [.int, .address, .unsigned], .notYetRecorded("semop", "System V IPC")),
    Syscall(
      66, "semctl", [.int, .int, .int, .address], .notYetRecorded("semctl", "System V IPC")),
    Syscall(67, "shmdt", [.address], .special),
    Syscall(68, "msgget", [.int, .hex], .notYetRecorded("msgget", "System V IPC")),
    Syscall(
      69, "msgsnd", [.int, .address, .size, .hex], .notYetRecorded("msgsnd", "System V IPC")),
    Syscall(
      70, "msgrcv", [.int, .address, .size, .int, .hex],
      .notYetRecorded("msgrcv", "System V IPC")),
    Syscall(71, "msgctl", [.int, .int, .address], .notYetRecorded("msgctl", "System V IPC")),
    Syscall(72, "fcntl", [.fd, .fcntlCommand, .fcntlArgument(commandArg: 1)], .emulate),
    Syscall(73, "flock", [.fd, .flagSet(.flock)], .emulate),
    Syscall(74, "fsync", [.fd], .emulate),
    Syscall(75, "fdatasync", [.fd], .emulate),
    Syscall(76, "truncate", [.path, .offset], .emulate),
    Syscall(77, "ftruncate", [.fd, .offset], .emulate),
    Syscall(78, "getdents", [.fd, .outBytes(count: .returnValue), .unsigned], .emulate),
    // The result counts the path and its NUL.
    Syscall(79, "getcwd", [.outString(count: .returnValue), .size], .emulate),
    Syscall(80, "chdir", [.path], .emulate),
    Syscall(81, "fchdir", [.fd], .emulate),
    Syscall(82, "rename", [.path, .path], .emulate),
    Syscall(83, "mkdir", [.path, .mode], .emulate),
    Syscall(84, "rmdir", [.path], .emulate),
    Syscall(85, "creat", [.path, .mode], .emulate),
    Syscall(86, "link", [.path, .path], .emulate),
    Syscall(87, "unlink", [.path], .emulate),
    Syscall(88, "symlink", [.path, .path], .emulate),
    Syscall(89, "readlink", [.path, .outBytes(count: .returnValue), .size], .emulate),
    Syscall(90, "chmod", [.path, .mode], .emulate),
    Syscall(91, "fchmod", [.fd, .mode], .emulate),
    Syscall(92, "chown", [.path, .uid, .uid], .emulate),
    Syscall(93, "fchown", [.fd, .uid, .uid], .emulate),
    Syscall(94, "lchown", [.path, .uid, .uid], .emulate),
    Syscall(95, "umask", [.mode], .emulate),
    Syscall(96, "gettimeofday", [.outStruct(.timeval), .outStruct(.timezone)], .emulate),
    Syscall(97, "getrlimit", [.named(.rlimitResource), .outStruct(.rlimit)], .emulate),
    Syscall(98, "getrusage", [.named(.rusageWho), .outStruct(.rusage)], .emulate),
    Syscall(99, "sysinfo", [.outStruct(.sysinfo)], .emulate),
  ]
}
