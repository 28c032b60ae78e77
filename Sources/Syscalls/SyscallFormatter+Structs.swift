// Structures printed strace's way, in their x86-64 kernel layouts. Only the fields people look
// for are shown, the rest is `...`, as strace does without -v.

extension FormattedCall {
  func structure(_ layout: StructKind, at address: UInt64) -> String {
    guard address != 0 else { return "NULL" }
    guard let bytes = try? memory.readBytes(at: address, count: layout.byteCount),
      let text = Self.describe(layout, bytes, verbose: verbose)
    else { return pointer(address) }
    return text
  }

  /// The structure's text, or nil when we print it as its address.
  static func describe(_ layout: StructKind, _ bytes: [UInt8], verbose: Bool = false) -> String? {
    func u64(_ offset: Int) -> UInt64 { bytes.littleEndianInteger(at: offset, count: 8) }
    func u32(_ offset: Int) -> UInt64 { bytes.littleEndianInteger(at: offset, count: 4) }
    func i64(_ offset: Int) -> Int64 { Int64(bitPattern: u64(offset)) }
    func i32(_ offset: Int) -> Int32 { Int32(truncatingIfNeeded: u32(offset)) }
    func time(_ offset: Int, _ fraction: String) -> String {
      "{tv_sec=\(i64(offset)), \(fraction)=\(i64(offset + 8))}"
    }
    func utime(_ offset: Int) -> String {
      switch i64(offset + 8) {
      case (1 << 30) - 1: "{tv_sec=\(i64(offset)), tv_nsec=UTIME_NOW}"
      case (1 << 30) - 2: "{tv_sec=\(i64(offset)), tv_nsec=UTIME_OMIT}"
      default: time(offset, "tv_nsec")
      }
    }
    func limit(_ offset: Int) -> String {
      // strace writes multiples of 1024 so: 8192*1024.
      let value = u64(offset)
      if value == .max { return ConstantNames.styled(String(value), "RLIM64_INFINITY") }
      return ConstantNames.styled(String(value), value != 0 && value % 1024 == 0 ? "\(value / 1024)*1024" : String(value))
    }
    func text(_ offset: Int, _ count: Int) -> String {
      let field = bytes[offset..<offset + count]
      return quoted(Array(field.prefix { $0 != 0 }))
    }
    switch layout {
    case .int32: return "[\(i32(0))]"
    case .int64: return "[\(i64(0))]"
    case .fdPair: return "[\(i32(0)), \(i32(4))]"
    case .stat where verbose:
      let mode = u32(24)
      let type = mode & 0o170000
      func device(_ offset: Int) -> String { ConstantNames.device(u64(offset)) }
      func stamp(_ name: String, _ offset: Int) -> String {
        "\(name)=\(i64(offset))\(ConstantNames.timestampComment(seconds: i64(offset), nanoseconds: i64(offset + 8))), \(name)_nsec=\(i64(offset + 8))"
      }
      let sizeOrDevice = type == 0o020000 || type == 0o060000 ? "st_rdev=\(device(40))" : "st_size=\(i64(48))"
      return "{st_dev=\(device(0)), st_ino=\(u64(8)), st_mode=\(ConstantNames.styledFileMode(mode)), st_nlink=\(u64(16)), "
        + "st_uid=\(u32(28)), st_gid=\(u32(32)), st_blksize=\(i64(56)), st_blocks=\(i64(64)), \(sizeOrDevice), "
        + "\(stamp("st_atime", 72)), \(stamp("st_mtime", 88)), \(stamp("st_ctime", 104))}"
    case .stat:
      let mode = u32(24)
      let type = mode & 0o170000
      if type == 0o020000 || type == 0o060000 {
        return "{st_mode=\(ConstantNames.styledFileMode(mode)), st_rdev=\(ConstantNames.device(u64(40))), ...}"
      }
      return "{st_mode=\(ConstantNames.styledFileMode(mode)), st_size=\(i64(48)), ...}"
    case .statx where verbose:
      let mask = u32(0)
      func stamp(_ name: String, _ offset: Int) -> String {
        let nanoseconds = Int64(u32(offset + 8))
        return "\(name)={tv_sec=\(i64(offset)), tv_nsec=\(nanoseconds)}" + ConstantNames.timestampComment(seconds: i64(offset), nanoseconds: nanoseconds)
      }
      let attributes = [
        (UInt64(0x4), "STATX_ATTR_COMPRESSED"), (0x10, "STATX_ATTR_IMMUTABLE"), (0x20, "STATX_ATTR_APPEND"), (0x40, "STATX_ATTR_NODUMP"),
        (0x800, "STATX_ATTR_ENCRYPTED"), (0x1000, "STATX_ATTR_AUTOMOUNT"), (0x2000, "STATX_ATTR_MOUNT_ROOT"), (0x100000, "STATX_ATTR_VERITY"),
        (0x200000, "STATX_ATTR_DAX"),
      ]
      var fields = [
        "stx_mask=\(ConstantNames.flags(mask, .statxMask))", "stx_blksize=\(u32(4))", "stx_attributes=\(ConstantNames.flags(u64(8), attributes))",
        "stx_nlink=\(u32(16))", "stx_uid=\(u32(20))", "stx_gid=\(u32(24))",
        "stx_mode=\(ConstantNames.styledFileMode(bytes.littleEndianInteger(at: 28, count: 2)))", "stx_ino=\(u64(32))", "stx_size=\(u64(40))",
        "stx_blocks=\(u64(48))", "stx_attributes_mask=\(ConstantNames.flags(u64(56), attributes))", stamp("stx_atime", 64),
      ]
      if mask & 0x800 != 0 { fields.append(stamp("stx_btime", 80)) }
      fields += [
        stamp("stx_ctime", 96), stamp("stx_mtime", 112), "stx_rdev_major=\(u32(128))", "stx_rdev_minor=\(u32(132))",
        "stx_dev_major=\(u32(136))", "stx_dev_minor=\(u32(140))",
      ]
      if mask & 0x1000 != 0 { fields.append("stx_mnt_id=\(hex(u64(144)))") }
      return "{" + fields.joined(separator: ", ") + "}"
    case .statx:
      let mode = bytes.littleEndianInteger(at: 28, count: 2)
      return "{stx_mode=\(ConstantNames.styledFileMode(mode)), stx_size=\(u64(40)), ...}"
    case .timespec: return time(0, "tv_nsec")
    case .timeval: return time(0, "tv_usec")
    case .timezone: return "{tz_minuteswest=\(i32(0)), tz_dsttime=\(i32(4))}"
    case .itimerval: return "{it_interval=\(time(0, "tv_usec")), it_value=\(time(16, "tv_usec"))}"
    case .itimerspec:
      return "{it_interval=\(time(0, "tv_nsec")), it_value=\(time(16, "tv_nsec"))}"
    case .timespecPair: return "[\(utime(0)), \(utime(16))]"
    case .timevalPair: return "[\(time(0, "tv_usec")), \(time(16, "tv_usec"))]"
    case .utimbuf: return "{actime=\(i64(0)), modtime=\(i64(8))}"
    case .rlimit: return "{rlim_cur=\(limit(0)), rlim_max=\(limit(8))}"
    case .rusage where verbose:
      let counters = ["ru_maxrss", "ru_ixrss", "ru_idrss", "ru_isrss", "ru_minflt", "ru_majflt", "ru_nswap", "ru_inblock", "ru_oublock",
        "ru_msgsnd", "ru_msgrcv", "ru_nsignals", "ru_nvcsw", "ru_nivcsw"]
      return "{ru_utime=\(time(0, "tv_usec")), ru_stime=\(time(16, "tv_usec")), "
        + counters.enumerated().map { "\($0.element)=\(i64(32 + 8 * $0.offset))" }.joined(separator: ", ") + "}"
    case .rusage: return "{ru_utime=\(time(0, "tv_usec")), ru_stime=\(time(16, "tv_usec")), ...}"
    case .tms:
      return "{tms_utime=\(ConstantNames.clockTicks(u64(0))), tms_stime=\(ConstantNames.clockTicks(u64(8))), "
        + "tms_cutime=\(ConstantNames.clockTicks(u64(16))), tms_cstime=\(ConstantNames.clockTicks(u64(24)))}"
    case .sysinfo where verbose:
      return "{uptime=\(i64(0)), loads=[\(u64(8)), \(u64(16)), \(u64(24))], totalram=\(u64(32)), freeram=\(u64(40)), "
        + "sharedram=\(u64(48)), bufferram=\(u64(56)), totalswap=\(u64(64)), freeswap=\(u64(72)), "
        + "procs=\(bytes.littleEndianInteger(at: 80, count: 2)), totalhigh=\(u64(88)), freehigh=\(u64(96)), mem_unit=\(u32(104))}"
    case .sysinfo: return "{uptime=\(i64(0)), ...}"
    case .utsname where verbose:
      return "{sysname=\(text(0, 65)), nodename=\(text(65, 65)), release=\(text(130, 65)), version=\(text(195, 65)), "
        + "machine=\(text(260, 65)), domainname=\(text(325, 65))}"
    case .utsname: return "{sysname=\(text(0, 65)), nodename=\(text(65, 65)), ...}"
    case .kernelSigaction:
      let handler =
        switch u64(0) {
        case 0: ConstantNames.styled("0", "SIG_DFL")
        case 1: ConstantNames.styled("0x1", "SIG_IGN")
        default: hex(u64(0))
        }
      let flags = ConstantNames.flags(u64(8), ConstantNames.sigactionFlagNames)
      let restorer = u64(8) & 0x0400_0000 != 0 ? ", sa_restorer=\(hex(u64(16)))" : ""
      return "{sa_handler=\(handler), sa_mask=\(ConstantNames.sigset(Array(bytes[24..<32]))), "
        + "sa_flags=\(flags)\(restorer)}"
    case .stack:
      let flags = ConstantNames.flags(u32(8), [(1, "SS_ONSTACK"), (2, "SS_DISABLE")])
      return "{ss_sp=\(u64(0) == 0 ? "NULL" : hex(u64(0))), ss_flags=\(flags), ss_size=\(u64(16))}"
    case .siginfo:
      return "{si_signo=\(ConstantNames.signal(u32(0))), si_code=\(i32(8)), ...}"
    case .epollEvent:
      let events = ConstantNames.flags(u32(0), ConstantNames.epollEventNames)
      return "{events=\(events), data={u32=\(u32(4)), u64=\(u64(4))}}"
    case .openHow:
      return "{flags=\(ConstantNames.openFlags(u64(0))), mode=\(ConstantNames.mode(u64(8))), "
        + "resolve=\(u64(16) == 0 ? "0" : hex(u64(16)))}"
    case .schedParam: return "{sched_priority=\(i32(0))}"
    case .winsize:
      let field = { (offset: Int) in bytes.littleEndianInteger(at: offset, count: 2) }
      return "{ws_row=\(field(0)), ws_col=\(field(2)), ws_xpixel=\(field(4)), ws_ypixel=\(field(6))}"
    case .capHeader:
      let versions: [UInt64: String] = [
        0x1998_0330: "_LINUX_CAPABILITY_VERSION_1", 0x2007_1026: "_LINUX_CAPABILITY_VERSION_2", 0x2008_0522: "_LINUX_CAPABILITY_VERSION_3",
      ]
      return "{version=\(ConstantNames.enumeration(u32(0), versions, unknown: "_LINUX_CAPABILITY_VERSION_")), pid=\(i32(4))}"
    case .statfs:
      // f_flags only with ST_VALID, as strace (before 2.6.36 kernels left it unset).
      let flags = u64(80)
      let fsid = [u32(56), u32(60)].map { $0 == 0 ? "0" : hex($0) }.joined(separator: ", ")
      return "{f_type=\(ConstantNames.filesystemMagic[u64(0)] ?? hex(u64(0))), f_bsize=\(u64(8)), f_blocks=\(u64(16)), f_bfree=\(u64(24)), "
        + "f_bavail=\(u64(32)), f_files=\(u64(40)), f_ffree=\(u64(48)), f_fsid={val=[\(fsid)]}, f_namelen=\(u64(64)), f_frsize=\(u64(72))"
        + (flags & 0x20 != 0 ? ", f_flags=" + ConstantNames.flags(flags, ConstantNames.statfsFlagNames) : "") + "}"
    case .timex, .sigevent, .flock, .robustListHead, .mqAttr, .ustat, .termios,
      .termios2:
      return nil
    }
  }

  /// capget's and capset's `struct __user_cap_data_struct`s (two of them, the low and high
  /// 32 capabilities, after a version 2 or 3 header; one after version 1).
  func capabilityData(at address: UInt64, header: UInt64) -> String {
    guard address != 0 else { return "NULL" }
    guard let version = try? memory.readBytes(at: header, count: 4) else { return pointer(address) }
    let count = version.littleEndianInteger(at: 0, count: 4) == 0x1998_0330 ? 1 : 2
    guard let bytes = try? memory.readBytes(at: address, count: 12 * count) else { return pointer(address) }
    func set(_ offset: Int) -> String {
      ConstantNames.capabilities(
        low: bytes.littleEndianInteger(at: offset, count: 4), high: count > 1 ? bytes.littleEndianInteger(at: 12 + offset, count: 4) : 0)
    }
    return "{effective=\(set(0)), permitted=\(set(4)), inheritable=\(set(8))}"
  }

  /// `{sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr("127.0.0.1")}`.
  func sockaddr(at address: UInt64, length: Int) -> String {
    guard address != 0 else { return "NULL" }
    guard length >= 2, let bytes = try? memory.readBytes(at: address, count: length) else {
      return pointer(address)
    }
    let family = bytes.littleEndianInteger(at: 0, count: 2)
    let familyName = ConstantNames.socketDomainNames[family] ?? String(family)
    switch family {
    case 1 where length < 3: return "{sa_family=AF_UNIX}"  // an unnamed socket
    case 1:  // sun_path, or an abstract name after a NUL
      let path = bytes.dropFirst(2)
      if path.first == 0 {
        return "{sa_family=AF_UNIX, sun_path=@\(quoted(Array(path.dropFirst())))}"
      }
      return "{sa_family=AF_UNIX, sun_path=\(quoted(Array(path.prefix { $0 != 0 })))}"
    case 2 where length >= 8:
      let port = UInt16(bytes[2]) << 8 | UInt16(bytes[3])
      let ip = bytes[4..<8].map(String.init).joined(separator: ".")
      return "{sa_family=AF_INET, sin_port=htons(\(port)), sin_addr=inet_addr(\"\(ip)\")}"
    case 10 where length >= 24:
      let port = UInt16(bytes[2]) << 8 | UInt16(bytes[3])
      let groups = stride(from: 8, to: 24, by: 2).map {
        String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16)
      }
      return "{sa_family=AF_INET6, sin6_port=htons(\(port)), "
        + "sin6_addr=\"\(groups.joined(separator: ":"))\", ...}"
    default:
      return "{sa_family=\(familyName), ...}"
    }
  }

  /// `[{iov_base="hello", iov_len=5}]`; for outputs, only the `shownBytes` the call wrote.
  func iovecs(at address: UInt64, count: UInt64, shownBytes: Int?) -> String {
    guard address != 0 else { return "NULL" }
    guard let entries = try? call.readIovecs(at: address, count: min(count, 1024)) else {
      return pointer(address)
    }
    var remaining = shownBytes ?? Int.max
    let items = entries.map { entry -> String in
      let shown = min(entry.count, remaining)
      remaining -= shown
      return "{iov_base=\(bytes(at: entry.address, count: shown)), iov_len=\(entry.count)}"
    }
    return "[" + items.joined(separator: ", ") + "]"
  }

  /// `[0 3 7]`: the descriptors in the set.
  func fdSet(at address: UInt64, nfds: UInt64) -> String {
    guard address != 0 else { return "NULL" }
    let limit = min(nfds, 1 << 20)
    guard let bytes = try? memory.readBytes(at: address, count: fdSetByteCount(nfds: limit)) else {
      return pointer(address)
    }
    let set = (0..<Int(limit)).filter { bytes[$0 / 8] & (1 << ($0 % 8)) != 0 }
    return "[" + set.map(String.init).joined(separator: " ") + "]"
  }

  /// `[{events=EPOLLIN, data=0x3}]`: the events epoll_wait returned (its address on failure).
  func epollEvents(at address: UInt64) -> String {
    guard address != 0 else { return "NULL" }
    guard hasSucceeded else { return pointer(address) }
    let count = min(Int(max(call.result, 0)), 64)
    guard let bytes = try? memory.readBytes(at: address, count: count * 12) else { return pointer(address) }
    let items = (0..<count).map { index -> String in
      let events = bytes.littleEndianInteger(at: index * 12, count: 4)
      let data = bytes.littleEndianInteger(at: index * 12 + 4, count: 8)
      return "{events=\(ConstantNames.flags(events, ConstantNames.epollEventNames)), data={u32=\(data & 0xffff_ffff), u64=\(data)}}"
    }
    return "[" + items.joined(separator: ", ") + (Int(call.result) > count ? ", ...]" : "]")
  }

  /// `[{fd=3, events=POLLIN}]`, with `revents` once the call has returned.
  func pollfds(at address: UInt64, count: UInt64) -> String {
    guard address != 0 else { return "NULL" }
    let shown = min(count, 64)
    guard let bytes = try? memory.readBytes(at: address, count: Int(shown) * 8) else {
      return pointer(address)
    }
    let items = (0..<Int(shown)).map { index -> String in
      let fd = Int32(truncatingIfNeeded: bytes.littleEndianInteger(at: index * 8, count: 4))
      let events = bytes.littleEndianInteger(at: index * 8 + 4, count: 2)
      let revents = bytes.littleEndianInteger(at: index * 8 + 6, count: 2)
      _ = revents
      return "{fd=\(fd), events=\(ConstantNames.flags(events, ConstantNames.pollEventNames))}"
    }
    return "[" + items.joined(separator: ", ") + (count > shown ? ", ...]" : "]")
  }

  /// What strace writes after a successful poll's result: the entries with events, `([{fd=3,
  /// revents=POLLIN}])`; nil when there is nothing to say.
  func pollResults(at address: UInt64, count: UInt64) -> String? {
    guard address != 0, hasSucceeded, call.result > 0,
      let bytes = try? memory.readBytes(at: address, count: Int(min(count, 64)) * 8)
    else { return nil }
    let ready = (0..<Int(min(count, 64))).compactMap { index -> String? in
      let revents = bytes.littleEndianInteger(at: index * 8 + 6, count: 2)
      guard revents != 0 else { return nil }
      let fd = Int32(truncatingIfNeeded: bytes.littleEndianInteger(at: index * 8, count: 4))
      return "{fd=\(fd), revents=\(ConstantNames.flags(revents, ConstantNames.pollEventNames))}"
    }
    return ready.isEmpty ? nil : "([" + ready.joined(separator: ", ") + "])"
  }
}

extension SyscallFormatter {
  /// A 128-byte siginfo as strace prints it in a signal line: `{si_signo=SIGUSR1,
  /// si_code=SI_TKILL, si_pid=42, si_uid=0}`, with the fields its si_code says are there.
  public static func siginfo(_ bytes: [UInt8]) -> String {
    guard bytes.count >= 48 else { return "{...}" }
    func i32(_ offset: Int) -> Int32 { Int32(truncatingIfNeeded: bytes.littleEndianInteger(at: offset, count: 4)) }
    func u64(_ offset: Int) -> UInt64 { bytes.littleEndianInteger(at: offset, count: 8) }
    func pointer(_ offset: Int) -> String { u64(offset) == 0 ? "NULL" : hex(u64(offset)) }
    let (signal, code) = (UInt64(UInt32(bitPattern: i32(0))), i32(8))
    guard signal != 0 else { return "{}" }
    var fields = ["si_signo=" + ConstantNames.signal(signal), "si_code=" + siginfoCode(code, signal: signal)]
    if i32(4) != 0 { fields.append("si_errno=" + (ErrnoNames.lookup(Int(i32(4)))?.name ?? String(i32(4)))) }
    let source = ["si_pid=\(i32(16))", "si_uid=\(UInt32(bitPattern: i32(20)))"]
    let value = ["si_int=\(i32(24))", "si_ptr=" + pointer(24)]
    if code <= 0 {
      switch code {
      case 0, -6: fields += source  // SI_USER, SI_TKILL
      case -2: fields += ["si_timerid=" + (i32(16) == 0 ? "0" : hex(UInt64(UInt32(bitPattern: i32(16))))), "si_overrun=\(i32(20))"] + value  // SI_TIMER
      case -5: fields += ["si_band=\(Int64(bitPattern: u64(16)))", "si_fd=\(i32(24))"]  // SI_SIGIO
      default: fields += source + (u64(24) != 0 ? value : [])
      }
    } else {
      switch signal {
      case 17:  // SIGCHLD
        let status = code == 1 ? String(i32(24)) : ConstantNames.signal(UInt64(UInt32(bitPattern: i32(24))))
        fields += source + ["si_status=" + status, "si_utime=" + ConstantNames.clockTicks(u64(32)), "si_stime=" + ConstantNames.clockTicks(u64(40))]
      case 4, 8, 7, 11, 5: fields.append("si_addr=" + pointer(16))  // SIGILL, SIGFPE, SIGBUS, SIGSEGV, SIGTRAP
      case 29 where (1...6).contains(code): fields += ["si_band=\(Int64(bitPattern: u64(16)))", "si_fd=\(i32(24))"]  // SIGIO
      case 29: break
      default:
        if i32(16) != 0 || i32(20) != 0 { fields += source }
        if u64(24) != 0 { fields += value }
      }
    }
    return "{" + fields.joined(separator: ", ") + "}"
  }

  /// si_code by name: the codes any signal may carry, then the signal's own.
  static func siginfoCode(_ code: Int32, signal: UInt64) -> String {
    // strace writes it as an unsigned int: SI_TKILL is 0xfffffffa.
    ConstantNames.styled(ConstantNames.rawHex(UInt64(UInt32(bitPattern: code))), siginfoCodeName(code, signal: signal))
  }

  private static func siginfoCodeName(_ code: Int32, signal: UInt64) -> String {
    let common: [Int32: String] = [
      0: "SI_USER", 0x80: "SI_KERNEL", -1: "SI_QUEUE", -2: "SI_TIMER", -3: "SI_MESGQ", -4: "SI_ASYNCIO", -5: "SI_SIGIO", -6: "SI_TKILL",
      -7: "SI_DETHREAD", -60: "SI_ASYNCNL",
    ]
    if let name = common[code] { return name }
    let own: [String]
    switch signal {
    case 5: own = ["TRAP_BRKPT", "TRAP_TRACE", "TRAP_BRANCH", "TRAP_HWBKPT", "TRAP_UNK", "TRAP_PERF"]
    case 17: own = ["CLD_EXITED", "CLD_KILLED", "CLD_DUMPED", "CLD_TRAPPED", "CLD_STOPPED", "CLD_CONTINUED"]
    case 29: own = ["POLL_IN", "POLL_OUT", "POLL_MSG", "POLL_ERR", "POLL_PRI", "POLL_HUP"]
    case 27: own = ["PROF_SIG"]
    case 4: own = ["ILL_ILLOPC", "ILL_ILLOPN", "ILL_ILLADR", "ILL_ILLTRP", "ILL_PRVOPC", "ILL_PRVREG", "ILL_COPROC", "ILL_BADSTK", "ILL_BADIADDR"]
    case 8:
      own = ["FPE_INTDIV", "FPE_INTOVF", "FPE_FLTDIV", "FPE_FLTOVF", "FPE_FLTUND", "FPE_FLTRES", "FPE_FLTINV", "FPE_FLTSUB", "", "", "", "", "",
        "FPE_FLTUNK", "FPE_CONDTRAP"]
    case 11:
      own = ["SEGV_MAPERR", "SEGV_ACCERR", "SEGV_BNDERR", "SEGV_PKUERR", "SEGV_ACCADI", "SEGV_ADIDERR", "SEGV_ADIPERR", "SEGV_MTEAERR", "SEGV_MTESERR"]
    case 7: own = ["BUS_ADRALN", "BUS_ADRERR", "BUS_OBJERR", "BUS_MCEERR_AR", "BUS_MCEERR_AO"]
    case 31: own = ["SYS_SECCOMP", "SYS_USER_DISPATCH"]
    default: own = []
    }
    let index = Int(code) - 1
    return own.indices.contains(index) && !own[index].isEmpty ? own[index] : String(code)
  }
}
