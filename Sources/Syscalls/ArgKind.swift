/// What one argument register holds: how to print it, and whether it points at memory the call
/// reads (captured at entry) or writes (captured at exit).
///
/// Kinds that decode a value (`openFlags`, `signal`…) print unknown values raw, never guessed.
public indirect enum ArgKind: Equatable, Sendable {
  /// A signed decimal (`int` or `long`).
  case int
  /// An unsigned decimal.
  case unsigned
  /// A value printed raw in hex (flags nobody decodes yet).
  case hex
  /// A file descriptor (an `int`: the upper 32 bits of the register are ignored).
  case fd
  /// A directory file descriptor of an `*at` call: -100 prints as `AT_FDCWD`.
  case dirfd
  /// A `size_t`.
  case size
  /// An `off_t`.
  case offset
  /// A pointer the call does not dereference, or one we do not describe.
  case address
  /// A process or thread id (`pid_t`).
  case pid
  /// A `uid_t` or `gid_t`; -1 (no change) prints as -1.
  case uid
  /// A NUL-terminated path the call reads.
  case path
  /// A NUL-terminated string the call reads that is not a path (a memfd name).
  case string
  /// A NULL-terminated array of string pointers (execve's argv).
  case stringArray
  /// A NULL-terminated array of string pointers printed as a count (execve's envp).
  case environment
  /// A buffer the call reads (write's buffer).
  case inBytes(count: SizeSource)
  /// A buffer the call writes (read's buffer), printed as a string on success.
  case outBytes(count: SizeSource)
  /// A fixed-layout structure the call reads.
  case inStruct(StructKind)
  /// A fixed-layout structure the call writes.
  case outStruct(StructKind)
  /// A fixed-layout structure the call reads and then updates (a value-result `socklen_t *`).
  case inOutStruct(StructKind)
  /// A `sigset_t` the call reads; its size is an argument (`sigsetsize`).
  case inSigset(size: SizeSource)
  /// A `sigset_t` the call writes.
  case outSigset(size: SizeSource)
  /// A socket address the call reads; its length is argument `lengthArg`.
  case inSockaddr(lengthArg: Int)
  /// A socket address the call writes; `lengthPointerArg` holds a `socklen_t *` the kernel
  /// updates to the address's full length.
  case outSockaddr(lengthPointerArg: Int)
  /// A buffer the call writes that holds a NUL-terminated string (getcwd's).
  case outString(count: SizeSource)
  /// An array of `struct iovec` (count in argument `countArg`) whose buffers the call reads.
  case inIovecs(countArg: Int)
  /// An array of `struct iovec` whose buffers the call fills in order, result bytes in all.
  case outIovecs(countArg: Int)
  /// An `fd_set` of select: read at entry, rewritten at exit; its size follows argument
  /// `nfdsArg` in whole longs, as the kernel copies it.
  case fdSet(nfdsArg: Int)
  /// An array of `struct pollfd` (count in argument `countArg`); the call writes `revents`.
  case pollfds(countArg: Int)
  /// epoll_wait's output: as many 12-byte `struct epoll_event`s as the call returned.
  case epollEvents
  /// epoll_ctl's operation: EPOLL_CTL_ADD, _DEL, _MOD.
  case epollOperation
  /// A `struct msghdr` of sendmsg, whose name, iovecs and control data the call reads.
  case inMsghdr
  /// A `struct msghdr` of recvmsg: the call fills the iovecs and name and control buffers and
  /// updates `msg_namelen`, `msg_controllen` and `msg_flags`.
  case outMsghdr
  /// An array of `struct mmsghdr` of sendmmsg; the call writes each sent `msg_len`.
  case inMmsghdrs(countArg: Int)
  /// An array of `struct mmsghdr` of recvmmsg; the result counts the messages received.
  case outMmsghdrs(countArg: Int)
  /// `O_*` flags of open, openat and their relatives.
  case openFlags
  /// O_CLOEXEC, O_NONBLOCK, O_DIRECT without an access mode (pipe2, dup3): 0 prints as 0.
  case descriptorFlags
  /// The mode of a file the call may create; printed only when argument `flagsArg` has
  /// `O_CREAT` or `O_TMPFILE`, as strace does.
  case creationMode(flagsArg: Int)
  /// A file mode, printed in octal (`0644`).
  case mode
  /// `F_OK` or `R_OK|W_OK|X_OK` of access(2).
  case accessMode
  /// `PROT_*`.
  case prot
  /// `MAP_*`.
  case mapFlags
  /// `MREMAP_*`.
  case mremapFlags
  /// `SEEK_*`.
  case whence
  /// `AT_*` flags (`AT_SYMLINK_NOFOLLOW|AT_EMPTY_PATH`).
  case atFlags
  /// A signal number, printed by name (`SIGSEGV`).
  case signal
  /// `SIG_BLOCK`, `SIG_UNBLOCK` or `SIG_SETMASK`.
  case sigprocmaskHow
  /// `CLOCK_*`.
  case clockID
  /// An ioctl request, by name when known, else raw with its `_IOC` decoding.
  case ioctlRequest
  /// An fcntl command (`F_GETFL`).
  case fcntlCommand
  /// fcntl's third argument; omitted for commands that take none (`F_GETFD`).
  case fcntlArgument(commandArg: Int)
  /// A futex operation (`FUTEX_WAIT_PRIVATE`).
  case futexOp
  /// `MADV_*`.
  case madviseAdvice
  /// `AF_*`.
  case socketDomain
  /// `SOCK_*`, with `SOCK_NONBLOCK|SOCK_CLOEXEC`.
  case socketType
  /// An `ARCH_*` code of arch_prctl.
  case archPrctlCode
  /// A `PR_*` option of prctl.
  case prctlOption
  /// `CLONE_*` flags, with the exit signal in the low byte.
  case cloneFlags
  /// `WNOHANG|WUNTRACED|…` of wait4 and waitid.
  case waitOptions
  /// One of a set of named constants (`RLIMIT_STACK`), as strace names it.
  case named(ConstantSet)
  /// Flags of a set (`GRND_NONBLOCK`, `EFD_CLOEXEC|EFD_NONBLOCK`), as strace names them.
  case flagSet(FlagSet)
  /// A socket option (`SO_REUSEADDR`, `TCP_NODELAY`), named for the level in `levelArg`.
  case socketOption(levelArg: Int)
}

/// Where the byte count of a buffer comes from.
public enum SizeSource: Equatable, Sendable {
  /// A fixed number of bytes.
  case fixed(Int)
  /// The value of argument `n` (write's `count`).
  case arg(Int)
  /// The call's result, when it is not an error (read's result).
  case returnValue
  /// The `int` or `socklen_t` that argument `n` points to, read after the call: the kernel
  /// stored there how much it wrote (getsockopt's `optlen`).
  case valueResultArg(Int)
  /// Argument `n` times `elementSize` bytes (poll's `nfds` pollfds).
  case argElements(Int, elementSize: Int)
  /// The result times `elementSize` bytes (epoll_wait's events).
  case returnValueElements(elementSize: Int)
  /// One byte per page of the length in argument `n` (mincore's vector).
  case pagesOfArg(Int)
}

/// A structure whose layout is fixed on x86-64 (kernel layout, not glibc's when they differ).
public enum StructKind: Equatable, Sendable {
  case int32, int64, fdPair
  case stat, statx, statfs
  case timespec, timeval, timezone, itimerval, itimerspec, timespecPair, timevalPair, utimbuf
  case timex
  case rlimit, rusage, sysinfo, tms, utsname
  case kernelSigaction, stack, siginfo, sigevent
  case flock, epollEvent, capHeader, schedParam, openHow, robustListHead, mqAttr, ustat
  case termios, termios2, winsize

  /// The size of the structure on x86-64.
  public var byteCount: Int {
    switch self {
    case .int32, .schedParam: 4
    case .int64, .fdPair, .timezone, .winsize, .capHeader: 8
    case .stat, .rusage: 144
    case .statx: 256
    case .statfs: 120
    case .timespec, .timeval, .rlimit, .utimbuf: 16
    case .itimerval, .itimerspec, .timespecPair, .timevalPair, .tms, .kernelSigaction, .flock: 32
    case .timex: 208
    case .sysinfo: 112
    case .utsname: 390
    case .stack, .openHow, .robustListHead: 24
    case .siginfo: 128
    case .sigevent, .mqAttr: 64
    case .epollEvent: 12
    case .ustat: 32
    case .termios: 36
    case .termios2: 44
    }
  }
}

/// Named constants an argument takes one of.
public enum ConstantSet: Hashable, Sendable {
  case rlimitResource, rusageWho, itimerWhich, fadviseAdvice, socketLevel
}

/// Flag bits an argument is made of.
public enum FlagSet: Hashable, Sendable {
  case getrandom, epollCreate, eventfd, flock, statxMask
}
