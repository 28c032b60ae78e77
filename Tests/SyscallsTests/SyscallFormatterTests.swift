import Testing

@testable import Syscalls

@Suite struct SyscallFormatterTests {
  let atFdcwd = UInt64(bitPattern: -100)

  func line(
    _ name: String, _ arguments: [UInt64], _ result: Int64?,
    _ chunks: [(address: UInt64, bytes: [UInt8])] = [], stringLimit: Int = 32
  ) -> String {
    SyscallFormatter.format(
      row(name), arguments: arguments, result: result,
      memory: MemorySnapshot(chunks: chunks), stringLimit: stringLimit)
  }

  func cString(_ text: String) -> [UInt8] { Array(text.utf8) + [0] }

  @Test func openat() {
    #expect(
      line("openat", [atFdcwd, 0x5000, 0o2000000, 0], 3, [(0x5000, cString("/etc/passwd"))])
        == #"openat(AT_FDCWD, "/etc/passwd", O_RDONLY|O_CLOEXEC) = 3"#)
    #expect(
      line("openat", [atFdcwd, 0x5000, 0o1101, 0o644], 4, [(0x5000, cString("out.txt"))])
        == #"openat(AT_FDCWD, "out.txt", O_WRONLY|O_CREAT|O_TRUNC, 0644) = 4"#)
    #expect(
      line("openat", [atFdcwd, 0x5000, 0, 0], -2, [(0x5000, cString("/nope"))])
        == #"openat(AT_FDCWD, "/nope", O_RDONLY) = -1 ENOENT (No such file or directory)"#)
  }

  @Test func readPrintsTheBufferOnlyOnSuccess() {
    #expect(
      line("read", [3, 0x1000, 4096], 1234, [(0x1000, Array("root:x:0:0:root:/root".utf8))],
        stringLimit: 10) == #"read(3, "root:x:0:0"..., 4096) = 1234"#)
    #expect(line("read", [3, 0x1000, 4096], -9) == "read(3, 0x1000, 4096) = -1 EBADF (Bad file descriptor)")
    #expect(line("read", [3, 0x1000, 4096], nil) == "read(3, 0x1000, 4096) = ?")
  }

  @Test func writeEscapesLikeStrace() {
    #expect(line("write", [1, 0x1000, 6], 6, [(0x1000, Array("hello\n".utf8))]) == #"write(1, "hello\n", 6) = 6"#)
    let bytes: [UInt8] = [0x7f, 0x45, 0x4c, 0x46, 2, 1, 0, 0x31, 0x22, 0x5c, 9]
    #expect(
      line("write", [2, 0x1000, 11], 11, [(0x1000, bytes)])
        == #"write(2, "\177ELF\2\1\0001\"\\\t", 11) = 11"#)
  }

  @Test func closeAndExit() {
    #expect(line("close", [99], -9) == "close(99) = -1 EBADF (Bad file descriptor)")
    #expect(line("exit_group", [3], nil) == "exit_group(3) = ?")
  }

  @Test func memoryCalls() {
    #expect(
      line("mmap", [0, 8192, 3, 0x22, UInt64(UInt32.max), 0], 0x7f3a_2c00_0000)
        == "mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f3a2c000000")
    #expect(
      line("madvise", [0x7f3a_2c00_0000, 4096, 5], -22)
        == "madvise(0x7f3a2c000000, 4096, 0x5 /* MADV_??? */) = -1 EINVAL (Invalid argument)")
    #expect(line("mprotect", [0x1000, 4096, 0], 0) == "mprotect(0x1000, 4096, PROT_NONE) = 0")
  }

  @Test func structures() {
    var stat = [UInt8](repeating: 0, count: 144)
    stat[24] = 0xa4; stat[25] = 0x81  // S_IFREG|0644
    stat[48] = 0xd2; stat[49] = 0x04  // 1234
    #expect(
      line("fstat", [3, 0x1000], 0, [(0x1000, stat)])
        == "fstat(3, {st_mode=S_IFREG|0644, st_size=1234, ...}) = 0")
    #expect(
      line("clock_gettime", [1, 0x1000], 0, [(0x1000, littleEndian([1, 500]))])
        == "clock_gettime(CLOCK_MONOTONIC, {tv_sec=1, tv_nsec=500}) = 0")
    #expect(
      line("pipe2", [0x1000, 0o2000000], 0, [(0x1000, [3, 0, 0, 0, 4, 0, 0, 0])])
        == "pipe2([3, 4], O_CLOEXEC) = 0")
    #expect(line("pipe2", [0x1000, 0], 0, [(0x1000, [3, 0, 0, 0, 4, 0, 0, 0])]) == "pipe2([3, 4], 0) = 0")
    let event: [UInt8] = [1, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0]  // EPOLLIN, data 3
    #expect(
      line("epoll_ctl", [4, 1, 3, 0x1000], 0, [(0x1000, event)])
        == "epoll_ctl(4, EPOLL_CTL_ADD, 3, {events=EPOLLIN, data={u32=3, u64=3}}) = 0")
    #expect(
      line("epoll_wait", [4, 0x1000, 2, 100], 1, [(0x1000, event)])
        == "epoll_wait(4, [{events=EPOLLIN, data={u32=3, u64=3}}], 2, 100) = 1")
    #expect(line("epoll_wait", [4, 0x1000, 2, 100], -4) == "epoll_wait(4, 0x1000, 2, 100) = -1 EINTR (Interrupted system call)")
  }

  @Test func signals() {
    #expect(line("kill", [1234, 11], 0) == "kill(1234, SIGSEGV) = 0")
    #expect(
      line("rt_sigprocmask", [2, 0x1000, 0, 8], 0, [(0x1000, [0x02, 0x40, 0, 0, 0, 0, 0, 0])])
        == "rt_sigprocmask(SIG_SETMASK, [INT TERM], NULL, 8) = 0")
  }

  @Test func fcntlShowsItsArgumentOnlyWhenItHasOne() {
    #expect(line("fcntl", [3, 1], 1) == "fcntl(3, F_GETFD) = 0x1 (flags FD_CLOEXEC)")
    #expect(line("fcntl", [3, 2, 1], 0) == "fcntl(3, F_SETFD, FD_CLOEXEC) = 0")
  }

  @Test func ioctlAndConnect() {
    #expect(line("ioctl", [1, 0x5401, 0x1000], -25) == "ioctl(1, TCGETS, 0x1000) = -1 ENOTTY (Inappropriate ioctl for device)")
    let address: [UInt8] = [2, 0, 0, 80, 127, 0, 0, 1] + [UInt8](repeating: 0, count: 8)
    #expect(
      line("connect", [3, 0x1000, 16], 0, [(0x1000, address)])
        == #"connect(3, {sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr("127.0.0.1")}, 16) = 0"#)
  }

  @Test func execveAndRestart() {
    let chunks: [(address: UInt64, bytes: [UInt8])] = [
      (0x5000, cString("/bin/ls")), (0x6000, littleEndian([0x5000, 0x7000, 0])),
      (0x7000, cString("-l")), (0x8000, littleEndian([0x7000, 0])),
    ]
    #expect(
      line("execve", [0x5000, 0x6000, 0x8000], 0, chunks)
        == #"execve("/bin/ls", ["/bin/ls", "-l"], 0x8000 /* 1 var */) = 0"#)
    #expect(
      line("nanosleep", [0x1000, 0], -516, [(0x1000, littleEndian([5, 0]))])
        == "nanosleep({tv_sec=5, tv_nsec=0}, NULL) = ? ERESTART_RESTARTBLOCK (Interrupted by signal)")
  }

  /// Lines strace 6.1 prints for these calls (issue 18's list).
  @Test func faccessat2sFlagIsAtEaccess() {
    #expect(
      line("faccessat2", [atFdcwd, 0x5000, 1, 0x200], 0, [(0x5000, cString("/usr/bin/ls"))])
        == #"faccessat2(AT_FDCWD, "/usr/bin/ls", X_OK, AT_EACCESS) = 0"#)
    #expect(
      line("unlinkat", [atFdcwd, 0x5000, 0x200], 0, [(0x5000, cString("dir"))]) == #"unlinkat(AT_FDCWD, "dir", AT_REMOVEDIR) = 0"#)
  }

  @Test func umaskReturnsAMode() {
    #expect(line("umask", [0o77], 0o22) == "umask(077) = 022")
    #expect(line("umask", [0o22], 0o2) == "umask(022) = 002")
  }

  @Test func wait4DecodesTheStatus() {
    func status(_ value: UInt32) -> [(address: UInt64, bytes: [UInt8])] {
      [(0x7000, [UInt8(value & 0xff), UInt8(value >> 8 & 0xff), UInt8(value >> 16 & 0xff), UInt8(value >> 24)])]
    }
    #expect(line("wait4", [42, 0x7000, 0, 0], 42, status(0)) == "wait4(42, [{WIFEXITED(s) && WEXITSTATUS(s) == 0}], 0, NULL) = 42")
    #expect(line("wait4", [42, 0x7000, 0, 0], 42, status(13 << 8)) == "wait4(42, [{WIFEXITED(s) && WEXITSTATUS(s) == 13}], 0, NULL) = 42")
    #expect(
      line("wait4", [42, 0x7000, 0, 0], 42, status(11 | 0x80)) == "wait4(42, [{WIFSIGNALED(s) && WTERMSIG(s) == SIGSEGV && WCOREDUMP(s)}], 0, NULL) = 42")
    #expect(line("wait4", [42, 0x7000, 2, 0], 42, status(19 << 8 | 0x7f)) == "wait4(42, [{WIFSTOPPED(s) && WSTOPSIG(s) == SIGSTOP}], WUNTRACED, NULL) = 42")
    #expect(line("wait4", [UInt64.max, 0x7000, 1, 0], 0) == "wait4(-1, 0x7000, WNOHANG, NULL) = 0")
  }

  @Test func constantsStraceNames() {
    #expect(line("epoll_create1", [0o2000000], 3) == "epoll_create1(EPOLL_CLOEXEC) = 3")
    #expect(line("eventfd2", [0, 0o4000 | 0o2000000], 3) == "eventfd2(0, EFD_CLOEXEC|EFD_NONBLOCK) = 3")
    #expect(line("flock", [3, 2 | 4], 0) == "flock(3, LOCK_EX|LOCK_NB) = 0")
    #expect(line("fadvise64", [3, 0, 0, 2], 0) == "fadvise64(3, 0, 0, POSIX_FADV_SEQUENTIAL) = 0")
    #expect(line("getitimer", [0, 0x7000], -14).hasPrefix("getitimer(ITIMER_REAL, 0x7000) = -1 EFAULT"))
    #expect(line("getrlimit", [3, 0x7000], -14).hasPrefix("getrlimit(RLIMIT_STACK, 0x7000)"))
    #expect(line("getrusage", [0, 0x7000], -14).hasPrefix("getrusage(RUSAGE_SELF, 0x7000)"))
    #expect(line("getrusage", [0xffff_ffff, 0x7000], -14).hasPrefix("getrusage(RUSAGE_CHILDREN, 0x7000)"))
    #expect(line("getrandom", [0x7000, 8, 1], -11).hasPrefix("getrandom(0x7000, 8, GRND_NONBLOCK) = -1 EAGAIN"))
    #expect(
      line("setsockopt", [3, 1, 2, 0x7000, 4], 0, [(0x7000, [1, 0, 0, 0])]) == "setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0")
    #expect(
      line("setsockopt", [3, 6, 1, 0x7000, 4], 0, [(0x7000, [1, 0, 0, 0])]) == "setsockopt(3, SOL_TCP, TCP_NODELAY, [1], 4) = 0")
  }

  @Test func futexAndIoctlShowTheArgumentsTheyUse() {
    #expect(line("futex", [0x7000, 0x81, 1, 0, 0, 0], 0) == "futex(0x7000, FUTEX_WAKE_PRIVATE, 1) = 0")
    #expect(line("futex", [0x7000, 0x80, 2, 0, 0, 0], 0) == "futex(0x7000, FUTEX_WAIT_PRIVATE, 2, NULL) = 0")
    #expect(
      line("futex", [0x7000, 0x189, 0, 0, 0, 0xffff_ffff], 0)
        == "futex(0x7000, FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME, 0, NULL, FUTEX_BITSET_MATCH_ANY) = 0")
    #expect(line("ioctl", [3, 0x5451, 0], 0) == "ioctl(3, FIOCLEX) = 0")
  }

  @Test func fcntlNamesTheFlagsItReturns() {
    #expect(line("fcntl", [3, 1, 0], 1) == "fcntl(3, F_GETFD) = 0x1 (flags FD_CLOEXEC)")
    #expect(line("fcntl", [3, 1, 0], 0) == "fcntl(3, F_GETFD) = 0")
    #expect(line("fcntl", [3, 3, 0], 0x8002) == "fcntl(3, F_GETFL) = 0x8002 (flags O_RDWR|O_LARGEFILE)")
  }

  @Test func statxFlagsAndMask() {
    #expect(line("statx", [atFdcwd, 0x5000, 0x100, 0x2, 0x6000], -2, [(0x5000, cString("/x"))])
      == #"statx(AT_FDCWD, "/x", AT_STATX_SYNC_AS_STAT|AT_SYMLINK_NOFOLLOW, STATX_MODE, 0x6000) = -1 ENOENT (No such file or directory)"#)
    #expect(line("statx", [atFdcwd, 0x5000, 0x1000, 0xfff, 0x6000], -2, [(0x5000, cString(""))])
      == #"statx(AT_FDCWD, "", AT_STATX_SYNC_AS_STAT|AT_EMPTY_PATH, STATX_ALL, 0x6000) = -1 ENOENT (No such file or directory)"#)
  }

  /// `-X raw` and `-X verbose`, as strace 6.1 prints these (checked by hand against it).
  @Test func constantsInEachStyle() {
    func each(_ make: () -> String) -> [String] {
      [ConstantStyle.abbrev, .raw, .verbose].map { ConstantStyle.$current.withValue($0, operation: make) }
    }
    #expect(each { ConstantNames.cloneFlags(0x120_0011) } == [
      "CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD", "0x1200000|17", "0x1200000 /* CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID */|17 /* SIGCHLD */",
    ])
    #expect(each { ConstantNames.sigset([0xff, 0xff, 0xff, 0x7f, 0xfe, 0xff, 0xff, 0xff]) } == [
      "~[RTMIN RT_1]", "~[32 33]", "~[32 /* RTMIN */ 33 /* RT_1 */]",
    ])
    #expect(each { ConstantNames.openFlags(0x80000) } == ["O_RDONLY|O_CLOEXEC", "0x80000", "0x80000 /* O_RDONLY|O_CLOEXEC */"])
    #expect(each { ConstantNames.openFlags(0) } == ["O_RDONLY", "0", "0 /* O_RDONLY */"])
    #expect(each { ConstantNames.mapFlags(0x22) } == ["MAP_PRIVATE|MAP_ANONYMOUS", "0x22", "0x22 /* MAP_PRIVATE|MAP_ANONYMOUS */"])
    #expect(each { ConstantNames.enumeration(2, ConstantNames.whenceNames, unknown: "SEEK_") } == ["SEEK_END", "0x2", "0x2 /* SEEK_END */"])
    #expect(each { ConstantNames.enumeration(77, ConstantNames.madviseNames, unknown: "MADV_") } == [
      "0x4d /* MADV_??? */", "0x4d", "0x4d /* MADV_??? */",
    ])
    #expect(each { ConstantNames.signal(10) } == ["SIGUSR1", "10", "10 /* SIGUSR1 */"])
    #expect(each { ConstantNames.styledFileMode(0o100644) } == ["S_IFREG|0644", "0100644", "0100644 /* S_IFREG|0644 */"])
    #expect(each { ConstantNames.device(0xfe00) } == ["makedev(0xfe, 0)", "0xfe00", "0xfe00 /* makedev(0xfe, 0) */"])
    #expect(each { ConstantNames.futexOp(0x81) } == ["FUTEX_WAKE_PRIVATE", "0x81", "0x81 /* FUTEX_WAKE_PRIVATE */"])
    // si_code as strace writes it, an unsigned int.
    #expect(each { SyscallFormatter.siginfoCode(-6, signal: 10) } == ["SI_TKILL", "0xfffffffa", "0xfffffffa /* SI_TKILL */"])
    #expect(each { SyscallFormatter.siginfoCode(1, signal: 17) } == ["CLD_EXITED", "0x1", "0x1 /* CLD_EXITED */"])
  }

  @Test func sigsetsWithMostSignalsSetAreWrittenInverted() {
    #expect(ConstantNames.sigset([0, 0x20, 0, 0, 0, 0, 0, 0]) == "[ALRM]")
    #expect(ConstantNames.sigset([0xff, 0xff, 0xff, 0x7f, 0xfe, 0xff, 0xff, 0xff]) == "~[RTMIN RT_1]")
    #expect(ConstantNames.sigset(Array(repeating: 0xff, count: 8)) == "~[]")
  }

  @Test func pollResultsComeAfterTheResult() {
    // fd 3 POLLIN and fd 4 POLLIN|POLLOUT; after the call fd 4 had POLLOUT.
    let entries: [UInt8] = [3, 0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0, 5, 0, 4, 0]
    #expect(
      line("poll", [0x1000, 2, UInt64(bitPattern: -1)], 1, [(0x1000, entries)])
        == "poll([{fd=3, events=POLLIN}, {fd=4, events=POLLIN|POLLOUT}], 2, -1) = 1 ([{fd=4, revents=POLLOUT}])")
    #expect(line("poll", [0x1000, 2, 0], 0, [(0x1000, entries)]) == "poll([{fd=3, events=POLLIN}, {fd=4, events=POLLIN|POLLOUT}], 2, 0) = 0 (Timeout)")
  }

  /// What `strace -v` prints (the times in the comments are this machine's time zone's).
  @Test func verboseStatDirectoryEntriesAndAffinity() {
    func little(_ value: UInt64, _ count: Int) -> [UInt8] { (0..<count).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) } }
    func entry(_ inode: UInt64, _ offset: UInt64, _ type: UInt8, _ name: String, length: Int) -> [UInt8] {
      let bytes = little(inode, 8) + little(offset, 8) + little(UInt64(length), 2) + [type] + Array(name.utf8)
      return bytes + Array(repeating: 0, count: length - bytes.count)
    }
    let entries = entry(2, 1, 4, ".", length: 24) + entry(3, 2, 8, "file.txt", length: 32)
    #expect(line("getdents64", [3, 0x4000, 32768], 56, [(0x4000, entries)]) == "getdents64(3, 0x4000 /* 2 entries */, 32768) = 56")
    #expect(
      SyscallFormatter.format(row("getdents64"), arguments: [3, 0x4000, 32768], result: 56, memory: MemorySnapshot(chunks: [(0x4000, entries)]), verbose: true)
        == #"getdents64(3, [{d_ino=2, d_off=1, d_reclen=24, d_type=DT_DIR, d_name="."}, {d_ino=3, d_off=2, d_reclen=32, d_type=DT_REG, d_name="file.txt"}], 32768) = 56"#)
    #expect(line("sched_getaffinity", [0, 128, 0x4000], 8, [(0x4000, [3, 0, 0, 0, 0, 0, 0, 0])]) == "sched_getaffinity(0, 128, [0 1]) = 8")

    var stat = [UInt8](repeating: 0, count: 144)
    func put(_ value: UInt64, at offset: Int, _ count: Int = 8) { stat.replaceSubrange(offset..<(offset + count), with: little(value, count)) }
    put(0xfe00, at: 0); put(465, at: 8); put(1, at: 16); put(0o100644, at: 24, 4); put(4096, at: 56); put(72, at: 64); put(33759, at: 48)
    put(0, at: 72); put(5, at: 80); put(0, at: 88); put(0, at: 96); put(0, at: 104); put(0, at: 112)
    let text = SyscallFormatter.format(
      row("newfstatat"), arguments: [3, 0x5000, 0x6000, 0x1000], result: 0,
      memory: MemorySnapshot(chunks: [(0x5000, [0]), (0x6000, stat)]), verbose: true)
    let epoch = ConstantNames.timestamp(seconds: 0, nanoseconds: 0)
    #expect(
      text
        == #"newfstatat(3, "", {st_dev=makedev(0xfe, 0), st_ino=465, st_mode=S_IFREG|0644, st_nlink=1, st_uid=0, st_gid=0, st_blksize=4096, st_blocks=72, st_size=33759, "#
        + "st_atime=0 /* \(ConstantNames.timestamp(seconds: 0, nanoseconds: 5)) */, st_atime_nsec=5, st_mtime=0, st_mtime_nsec=0, st_ctime=0, st_ctime_nsec=0}, AT_EMPTY_PATH) = 0")
    #expect(epoch.hasPrefix("19") && !epoch.contains("."), "\(epoch)")
  }

  /// strace's order of flags, not the bits': what `strace` printed for these calls.
  @Test func flagsInStracesOrder() {
    #expect(
      line("openat", [atFdcwd, 0x5000, 0o4000 | 0o200000 | 0o2000000, 0], -20, [(0x5000, cString("/x"))])
        == #"openat(AT_FDCWD, "/x", O_RDONLY|O_NONBLOCK|O_CLOEXEC|O_DIRECTORY) = -1 ENOTDIR (Not a directory)"#)
    #expect(
      line("openat", [atFdcwd, 0x5000, 0o1 | 0o100 | 0o200 | 0o400 | 0o1000 | 0o2000 | 0o4000 | 0o4010000 | 0o20000 | 0o40000 | 0o400000 | 0o1000000 | 0o2000000, 0o644], 3, [(0x5000, cString("/x"))])
        == #"openat(AT_FDCWD, "/x", O_WRONLY|O_CREAT|O_EXCL|O_NOCTTY|O_TRUNC|O_APPEND|O_NONBLOCK|O_SYNC|O_DIRECT|O_NOFOLLOW|O_NOATIME|O_CLOEXEC|FASYNC, 0644) = 3"#)
    #expect(
      line("openat", [atFdcwd, 0x5000, 0o10000000 | 0o2000000 | 0o200000, 0], -20, [(0x5000, cString("/x"))])
        == #"openat(AT_FDCWD, "/x", O_RDONLY|O_CLOEXEC|O_PATH|O_DIRECTORY) = -1 ENOTDIR (Not a directory)"#)
    #expect(line("socket", [1, 1 | 0o4000 | 0o2000000, 0], 4) == "socket(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC|SOCK_NONBLOCK, 0) = 4")
  }

  /// What strace printed for glibc's pthread_create.
  @Test func clone3sArguments() {
    func little(_ value: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) } }
    let flags: UInt64 = 0x100 | 0x200 | 0x400 | 0x800 | 0x10000 | 0x40000 | 0x80000 | 0x100000 | 0x200000
    let arguments = [flags, 0, 0x7fa8877db990, 0x7fa8877db990, 0, 0x7fa886fdb000, 0x7fff80, 0x7fa8877db6c0, 0, 0, 0].flatMap(little)
    #expect(
      line("clone3", [0x4000, 88], 8491, [(0x4000, arguments)])
        == "clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID, "
        + "child_tid=0x7fa8877db990, parent_tid=0x7fa8877db990, exit_signal=0, stack=0x7fa886fdb000, stack_size=0x7fff80, tls=0x7fa8877db6c0} "
        + "=> {parent_tid=[8491]}, 88) = 8491")
  }

  /// What strace -v printed for python3's sysinfo.
  @Test func verboseSysinfo() {
    func little(_ value: UInt64, _ count: Int = 8) -> [UInt8] { (0..<count).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) } }
    let info = little(18412) + little(53856) + little(81440) + little(93600) + little(25276194816) + little(23343423488) + little(10465280)
      + little(15011840) + little(0) + little(0) + little(105, 2) + little(0, 6) + little(0) + little(0) + little(1, 4) + little(0, 4)
    #expect(
      SyscallFormatter.format(row("sysinfo"), arguments: [0x4000], result: 0, memory: MemorySnapshot(chunks: [(0x4000, info)]), verbose: true)
        == "sysinfo({uptime=18412, loads=[53856, 81440, 93600], totalram=25276194816, freeram=23343423488, sharedram=10465280, bufferram=15011840, "
        + "totalswap=0, freeswap=0, procs=105, totalhigh=0, freehigh=0, mem_unit=1}) = 0")
  }

  // The expected lines below are what strace 6.1 printed for the same calls (`strace -v -s
  // 65535`, a C program making them), pids and addresses aside.

  @Test func prctlPrintsTheArgumentsEachOptionUses() {
    let name = (0x5000 as UInt64, cString("worker"))
    #expect(line("prctl", [15, 0x5000, 0, 0, 0], 0, [name]) == #"prctl(PR_SET_NAME, "worker") = 0"#)
    // TASK_COMM_LEN - 1 characters at most: strace cuts a 15-character name too.
    #expect(line("prctl", [15, 0x5000, 0, 0, 0], 0, [(0x5000, cString("worker-thread-1"))]) == #"prctl(PR_SET_NAME, "worker-thread-1"...) = 0"#)
    #expect(
      line("prctl", [15, 0x5000, 0, 0, 0], 0, [(0x5000, Array("a-very-long-thr".utf8) + [UInt8(ascii: "e")])])
        == #"prctl(PR_SET_NAME, "a-very-long-thr"...) = 0"#)
    #expect(line("prctl", [16, 0x5000, 0, 0, 0], 0, [(0x5000, cString("a-very-long-thr"))]) == #"prctl(PR_GET_NAME, "a-very-long-thr") = 0"#)
    #expect(line("prctl", [1, 9, 0, 0, 0], 0) == "prctl(PR_SET_PDEATHSIG, SIGKILL) = 0")
    #expect(line("prctl", [2, 0x5000, 0, 0, 0], 0, [(0x5000, [9, 0, 0, 0])]) == "prctl(PR_GET_PDEATHSIG, [SIGKILL]) = 0")
    #expect(line("prctl", [3, 0, 0, 0, 0], 1) == "prctl(PR_GET_DUMPABLE) = 1 (SUID_DUMP_USER)")
    #expect(line("prctl", [4, 1, 0, 0, 0], 0) == "prctl(PR_SET_DUMPABLE, SUID_DUMP_USER) = 0")
    #expect(line("prctl", [38, 1, 0, 0, 0], 0) == "prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) = 0")
    #expect(line("prctl", [23, 21, 0, 0, 0], 1) == "prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN) = 1")
    #expect(line("prctl", [36, 1, 0, 0, 0], 0) == "prctl(PR_SET_CHILD_SUBREAPER, 1) = 0")
    #expect(line("prctl", [37, 0x5000, 0, 0, 0], 0, [(0x5000, [1, 0, 0, 0])]) == "prctl(PR_GET_CHILD_SUBREAPER, [1]) = 0")
    #expect(line("prctl", [21, 0, 0, 0, 0], 0) == "prctl(PR_GET_SECCOMP) = 0")
    #expect(line("prctl", [29, 50000, 0, 0, 0], 0) == "prctl(PR_SET_TIMERSLACK, 50000) = 0")
    #expect(line("prctl", [30, 0, 0, 0, 0], 50000) == "prctl(PR_GET_TIMERSLACK) = 50000")
    #expect(
      line("prctl", [0x5356_4d41, 0, 0x10000, 4096, 0x5000], -22, [(0x5000, cString("heap-name"))])
        == #"prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, 0x10000, 4096, "heap-name") = -1 EINVAL (Invalid argument)"#)
    #expect(line("prctl", [12345, 1, 2, 3, 4], -22) == "prctl(0x3039 /* PR_??? */, 0x1, 0x2, 0x3, 0x4) = -1 EINVAL (Invalid argument)")
  }

  /// The recorder captures PR_SET_NAME's name and PR_SET_VMA_ANON_NAME's, which dump prints.
  @Test func prctlNamesAreCapturedAtEntry() throws {
    let memory = MemorySnapshot(chunks: [(0x5000, cString("worker")), (0x6000, cString("heap-name"))])
    #expect(try row("prctl").inputRegions(arguments: [15, 0x5000, 0, 0, 0], memory: memory) == [MemoryRegion(address: 0x5000, count: 7)])
    #expect(
      try row("prctl").inputRegions(arguments: [0x5356_4d41, 0, 0x10000, 4096, 0x6000], memory: memory) == [MemoryRegion(address: 0x6000, count: 10)])
    #expect(try row("prctl").inputRegions(arguments: [16, 0x5000, 0, 0, 0], memory: memory).isEmpty)
  }

  @Test func rtSigreturnShowsTheMaskItRestores() throws {
    let rsp: UInt64 = 0x7fff_f000
    #expect(try row("rt_sigreturn").inputRegions(arguments: [], memory: MemorySnapshot(chunks: []), stackPointer: rsp) == [MemoryRegion(address: rsp + 296, count: 8)])
    func sigreturn(_ mask: [UInt8]?) -> String {
      SyscallFormatter.format(
        row("rt_sigreturn"), arguments: [0, 0, 0, 0, 0, 0], result: 0, memory: MemorySnapshot(chunks: mask.map { [(rsp + 296, $0)] } ?? []), stackPointer: rsp)
    }
    #expect(sigreturn([0, 0, 0, 0, 0, 0, 0, 0]) == "rt_sigreturn({mask=[]}) = 0")
    #expect(sigreturn([2, 0, 0, 0, 0, 0, 0, 0]) == "rt_sigreturn({mask=[INT]}) = 0")
    // A trace from before the mask was captured.
    #expect(sigreturn(nil) == "rt_sigreturn() = 0")
  }

  @Test func cloneNamesItsArgumentsAsStraceDoes() {
    // sh's fork: clone(CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, NULL, NULL, child_tid, 0).
    #expect(
      line("clone", [0x0120_0011, 0, 0, 0x7fff_f7d7_fa10, 0], 1234)
        == "clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7ffff7d7fa10) = 1234")
    #expect(line("clone", [0x11, 0, 0, 0, 0], 1234) == "clone(child_stack=NULL, flags=SIGCHLD) = 1234")
    #expect(
      line("clone", [0x3d_0f00, 0x7f00_0000_1000, 0x7f00_0000_2000, 0x7f00_0000_2000, 0x7f00_0000_3000], 77)
        == "clone(child_stack=0x7f0000001000, flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS"
        + "|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID, parent_tid=[77], tls=0x7f0000003000, child_tidptr=0x7f0000002000) = 77")
  }

  @Test func fileModesNameTheSpecialBits() {
    #expect(ConstantNames.fileMode(0o041777) == "S_IFDIR|S_ISVTX|0777")
    #expect(ConstantNames.fileMode(0o104755) == "S_IFREG|S_ISUID|0755")
    #expect(ConstantNames.fileMode(0o102755) == "S_IFREG|S_ISGID|0755")
    #expect(ConstantNames.fileMode(0o100644) == "S_IFREG|0644")
    #expect(ConstantNames.fileMode(0o100000) == "S_IFREG|000")
    #expect(ConstantNames.mode(0o7) == "007")
  }

  @Test func sigactionFlagsInStracesOrder() {
    let handler = littleEndian([0x5555_5555_51b9, 0x0400_0000 | 0x1000_0000 | 0x4000_0000 | 4, 0x7fff_f7e0_e050, 0])
    #expect(
      line("rt_sigaction", [10, 0x5000, 0, 8], 0, [(0x5000, handler)])
        == "rt_sigaction(SIGUSR1, {sa_handler=0x5555555551b9, sa_mask=[], sa_flags=SA_RESTORER|SA_RESTART|SA_NODEFER|SA_SIGINFO, sa_restorer=0x7ffff7e0e050}, NULL, 8) = 0")
  }

  @Test func socketOptionValues() {
    func get(_ arguments: [UInt64], _ result: Int64, _ chunks: [(address: UInt64, bytes: [UInt8])], entry: [(address: UInt64, bytes: [UInt8])]) -> String {
      SyscallFormatter.format(
        row("getsockopt"), arguments: arguments, result: result, memory: MemorySnapshot(chunks: entry + chunks), entryMemory: MemorySnapshot(chunks: entry))
    }
    let four: [UInt8] = [4, 0, 0, 0]
    #expect(line("socket", [2, 1, 0], 3) == "socket(AF_INET, SOCK_STREAM, IPPROTO_IP) = 3")
    #expect(line("socket", [10, 2, 17], 3) == "socket(AF_INET6, SOCK_DGRAM, IPPROTO_UDP) = 3")
    #expect(line("setsockopt", [3, 1, 13, 0x7000, 8], 0, [(0x7000, [1, 0, 0, 0, 5, 0, 0, 0])]) == "setsockopt(3, SOL_SOCKET, SO_LINGER, {l_onoff=1, l_linger=5}, 8) = 0")
    #expect(
      get([3, 1, 13, 0x7000, 0x7100], 0, [(0x7000, [1, 0, 0, 0, 5, 0, 0, 0])], entry: [(0x7100, [8, 0, 0, 0])])
        == "getsockopt(3, SOL_SOCKET, SO_LINGER, {l_onoff=1, l_linger=5}, [8]) = 0")
    // strace prints struct timeval options as bytes.
    #expect(
      line("setsockopt", [3, 1, 20, 0x7000, 16], 0, [(0x7000, [3, 0, 0, 0, 0, 0, 0, 0, 0xf4, 1, 0, 0, 0, 0, 0, 0])])
        == #"setsockopt(3, SOL_SOCKET, SO_RCVTIMEO_OLD, "\3\0\0\0\0\0\0\0\364\1\0\0\0\0\0\0", 16) = 0"#)
    #expect(line("setsockopt", [3, 1, 25, 0x7000, 3], 0, [(0x7000, [0x6c, 0x6f, 0])]) == #"setsockopt(3, SOL_SOCKET, SO_BINDTODEVICE, "lo\0", 3) = 0"#)
    #expect(
      get([3, 1, 25, 0x7000, 0x7100], 0, [(0x7000, [0x6c, 0x6f, 0]), (0x7100, [3, 0, 0, 0])], entry: [(0x7100, [16, 0, 0, 0])])
        == #"getsockopt(3, SOL_SOCKET, SO_BINDTODEVICE, "lo\0", [16 => 3]) = 0"#)
    #expect(
      line("setsockopt", [4, 0, 35, 0x7000, 8], 0, [(0x7000, [224, 0, 0, 1, 0, 0, 0, 0])])
        == #"setsockopt(4, SOL_IP, IP_ADD_MEMBERSHIP, {imr_multiaddr=inet_addr("224.0.0.1"), imr_interface=inet_addr("0.0.0.0")}, 8) = 0"#)
    #expect(
      line("setsockopt", [4, 0, 35, 0x7000, 12], 0, [(0x7000, [224, 0, 0, 2, 0, 0, 0, 0, 1, 0, 0, 0])])
        == #"setsockopt(4, SOL_IP, IP_ADD_MEMBERSHIP, {imr_multiaddr=inet_addr("224.0.0.2"), imr_interface=inet_addr("0.0.0.0")}, 12) = 0"#)
    #expect(line("setsockopt", [4, 0, 33, 0x7000, 1], 0, [(0x7000, [4])]) == #"setsockopt(4, SOL_IP, IP_MULTICAST_TTL, "\4", 1) = 0"#)
    #expect(
      get([5, 1, 17, 0x7000, 0x7100], 0, [(0x7000, [0x62, 0x5e, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])], entry: [(0x7100, [12, 0, 0, 0])])
        == "getsockopt(5, SOL_SOCKET, SO_PEERCRED, {pid=24162, uid=0, gid=0}, [12]) = 0")
    #expect(get([4, 1, 3, 0x7000, 0x7100], 0, [(0x7000, [2, 0, 0, 0])], entry: [(0x7100, four)]) == "getsockopt(4, SOL_SOCKET, SO_TYPE, [2], [4]) = 0")
    #expect(line("setsockopt", [7, 41, 26, 0x7000, 4], 0, [(0x7000, [1, 0, 0, 0])]) == "setsockopt(7, SOL_IPV6, IPV6_V6ONLY, [1], 4) = 0")
  }

  /// accept and getsockname change the length they are given: strace shows both.
  @Test func changedAddressLengths() {
    let address: [UInt8] = [2, 0, 0x1f, 0x90, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]
    #expect(
      SyscallFormatter.format(
        row("getsockname"), arguments: [3, 0x7000, 0x7100], result: 0,
        memory: MemorySnapshot(chunks: [(0x7100, [128, 0, 0, 0]), (0x7000, address), (0x7100, [16, 0, 0, 0])]),
        entryMemory: MemorySnapshot(chunks: [(0x7100, [128, 0, 0, 0])]))
        == #"getsockname(3, {sa_family=AF_INET, sin_port=htons(8080), sin_addr=inet_addr("127.0.0.1")}, [128 => 16]) = 0"#)
  }

  /// Signal lines' siginfo, as strace 6.1 printed it for a raise(), a child's exit, a NULL
  /// write and setitimer's SIGALRM.
  @Test func siginfoAsStracePrintsIt() {
    func info(_ words: [(offset: Int, value: UInt64, count: Int)]) -> [UInt8] {
      var bytes = [UInt8](repeating: 0, count: 128)
      for word in words { for index in 0..<word.count { bytes[word.offset + index] = UInt8(truncatingIfNeeded: word.value >> (8 * UInt64(index))) } }
      return bytes
    }
    #expect(
      SyscallFormatter.siginfo(info([(0, 10, 4), (8, UInt64(UInt32(bitPattern: -6)), 4), (16, 24162, 4)]))
        == "{si_signo=SIGUSR1, si_code=SI_TKILL, si_pid=24162, si_uid=0}")
    #expect(
      SyscallFormatter.siginfo(info([(0, 17, 4), (8, 1, 4), (16, 17083, 4), (24, 0, 4), (32, 1, 8)]))
        == "{si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=17083, si_uid=0, si_status=0, si_utime=1 /* 0.01 s */, si_stime=0}")
    #expect(ConstantNames.clockTicks(150) == "150 /* 1.50 s */")
    #expect(
      SyscallFormatter.siginfo(info([(0, 17, 4), (8, 2, 4), (16, 17083, 4), (24, 9, 4)]))
        == "{si_signo=SIGCHLD, si_code=CLD_KILLED, si_pid=17083, si_uid=0, si_status=SIGKILL, si_utime=0, si_stime=0}")
    #expect(SyscallFormatter.siginfo(info([(0, 11, 4), (8, 1, 4)])) == "{si_signo=SIGSEGV, si_code=SEGV_MAPERR, si_addr=NULL}")
    #expect(SyscallFormatter.siginfo(info([(0, 11, 4), (8, 2, 4), (16, 0x5555_5555_6000, 8)])) == "{si_signo=SIGSEGV, si_code=SEGV_ACCERR, si_addr=0x555555556000}")
    #expect(SyscallFormatter.siginfo(info([(0, 14, 4), (8, 0x80, 4)])) == "{si_signo=SIGALRM, si_code=SI_KERNEL}")
    #expect(
      SyscallFormatter.siginfo(info([(0, 14, 4), (8, UInt64(UInt32(bitPattern: -2)), 4), (24, 7, 4)]))
        == "{si_signo=SIGALRM, si_code=SI_TIMER, si_timerid=0, si_overrun=0, si_int=7, si_ptr=0x7}")
  }

  /// What strace 6.1 printed for node's start (pids aside).
  @Test func capabilitiesUnameAndPkeys() {
    let header = (0x5000 as UInt64, littleEndian([0x2008_0522 | (30041 << 32)]))
    // All 41 capabilities effective and permitted, none inheritable.
    let data = (0x6000 as UInt64, [UInt8](repeating: 0xff, count: 8) + [0, 0, 0, 0] + [0xff, 1, 0, 0, 0xff, 1, 0, 0, 0, 0, 0, 0])
    let all = (0...40).map { "1<<" + ConstantNames.capabilityNames[UInt64($0)]! }.joined(separator: "|")
    #expect(
      line("capget", [0x5000, 0x6000], 0, [header, data])
        == "capget({version=_LINUX_CAPABILITY_VERSION_3, pid=30041}, {effective=\(all), permitted=\(all), inheritable=0}) = 0")
    #expect(all.hasPrefix("1<<CAP_CHOWN|1<<CAP_DAC_OVERRIDE|") && all.hasSuffix("|1<<CAP_PERFMON|1<<CAP_BPF|1<<CAP_CHECKPOINT_RESTORE"))
    #expect(line("capget", [0x5000, 0x6000], -1, [header]) == "capget({version=_LINUX_CAPABILITY_VERSION_3, pid=30041}, 0x6000) = -1 EPERM (Operation not permitted)")
    #expect(line("pkey_alloc", [0, 1], 1) == "pkey_alloc(0, PKEY_DISABLE_ACCESS) = 1")
    func field(_ text: String) -> [UInt8] { Array(text.utf8) + [UInt8](repeating: 0, count: 65 - text.utf8.count) }
    let uts = ["Linux", "vm", "6.18.44-fc-v1272", "#1 SMP PREEMPT_DYNAMIC @0", "x86_64", "(none)"].flatMap(field)
    #expect(
      SyscallFormatter.format(row("uname"), arguments: [0x7000], result: 0, memory: MemorySnapshot(chunks: [(0x7000, uts)]), verbose: true)
        == ##"uname({sysname="Linux", nodename="vm", release="6.18.44-fc-v1272", version="#1 SMP PREEMPT_DYNAMIC @0", machine="x86_64", domainname="(none)"}) = 0"##)
    #expect(line("uname", [0x7000], 0, [(0x7000, uts)]) == #"uname({sysname="Linux", nodename="vm", ...}) = 0"#)
  }

  /// What strace 6.1 printed for find's fstatfs and id's getgroups.
  @Test func statfsAndGroups() {
    let statfs = littleEndian([0xef53, 4096, 66_053_021, 60_643_967, 19_357_349, 16_777_216, 16_268_740, 0x5391_fcca_6961_849f, 255, 4096, 0x1020, 0, 0, 0, 0])
    #expect(
      line("fstatfs", [6, 0x5000], 0, [(0x5000, statfs)])
        == "fstatfs(6, {f_type=EXT2_SUPER_MAGIC, f_bsize=4096, f_blocks=66053021, f_bfree=60643967, f_bavail=19357349, f_files=16777216, "
        + "f_ffree=16268740, f_fsid={val=[0x6961849f, 0x5391fcca]}, f_namelen=255, f_frsize=4096, f_flags=ST_VALID|ST_RELATIME}) = 0")
    #expect(line("getgroups", [0, 0x5000], 0) == "getgroups(0, []) = 0")
    #expect(line("getgroups", [0, 0], 0) == "getgroups(0, NULL) = 0")
    #expect(line("getgroups", [2, 0x5000], 2, [(0x5000, [0, 0, 0, 0, 27, 0, 0, 0])]) == "getgroups(2, [0, 27]) = 2")
    #expect(line("getgroups", [2, 0x5000], -22) == "getgroups(2, 0x5000) = -1 EINVAL (Invalid argument)")
    #expect(line("setgroups", [1, 0x5000], 0, [(0x5000, [27, 0, 0, 0])]) == "setgroups(1, [27]) = 0")
  }

  /// What strace 6.1 printed for stat(1)'s statx and python's getsockname of a socketpair.
  @Test func statxAllAndUnnamedSockets() {
    #expect(ConstantNames.flags(0xfff, .statxMask) == "STATX_ALL")
    // A zero time (no birth time) goes without strace's date comment.
    #expect(ConstantNames.timestampComment(seconds: 0, nanoseconds: 0) == "")
    #expect(ConstantNames.timestampComment(seconds: 0, nanoseconds: 1).hasPrefix(" /* 1970-01-01T00:00:00.000000001"))
    #expect(ConstantNames.flags(0x1fff, .statxMask) == "STATX_ALL|STATX_MNT_ID")
    #expect(ConstantNames.flags(0x17ff, .statxMask) == "STATX_BASIC_STATS|STATX_MNT_ID")
    #expect(
      SyscallFormatter.format(
        row("getsockname"), arguments: [3, 0x7000, 0x7100], result: 0, memory: MemorySnapshot(chunks: [(0x7000, [1, 0]), (0x7100, [2, 0, 0, 0])]),
        entryMemory: MemorySnapshot(chunks: [(0x7100, [128, 0, 0, 0])]))
        == "getsockname(3, {sa_family=AF_UNIX}, [128 => 2]) = 0")
  }

  /// What strace 6.1 printed for cp's reflink attempt and python's select.
  @Test func ficloneAndSelectResults() {
    #expect(line("ioctl", [4, 0x4004_9409, 3], -95) == "ioctl(4, BTRFS_IOC_CLONE or FICLONE, 3) = -1 EOPNOTSUPP (Operation not supported)")
    let before: [(address: UInt64, bytes: [UInt8])] = [(0x5000, [0x80, 0, 0, 0, 0, 0, 0, 0]), (0x6000, littleEndian([1, 0]))]
    let after: [(address: UInt64, bytes: [UInt8])] = [(0x5000, [0x80, 0, 0, 0, 0, 0, 0, 0]), (0x6000, littleEndian([0, 999_994_439]))]
    func select(_ name: String, _ result: Int64) -> String {
      SyscallFormatter.format(
        row(name), arguments: [8, 0x5000, 0, 0, 0x6000, 0], result: result, memory: MemorySnapshot(chunks: before + after),
        entryMemory: MemorySnapshot(chunks: before))
    }
    #expect(select("pselect6", 1) == "pselect6(8, [7], NULL, NULL, {tv_sec=1, tv_nsec=0}, NULL) = 1 (in [7], left {tv_sec=0, tv_nsec=999994439})")
    #expect(select("select", 0) == "select(8, [7], NULL, NULL, {tv_sec=1, tv_usec=0}) = 0 (Timeout)")
  }
}
