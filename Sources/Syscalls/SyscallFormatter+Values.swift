// Names of the constants strace decodes. A value nobody named prints raw, never guessed:
// flags keep their unknown bits in hex (`O_RDONLY|0x40000000`), enums add a comment
// (`0x5 /* MADV_??? */`).

import Glibc

/// How constants print: strace's `-X` (`--const-print-style`). `abbrev` is names
/// (`O_RDONLY|O_CLOEXEC`), `raw` the numbers strace writes for them (`0x80000`), `verbose`
/// both (`0x80000 /* O_RDONLY|O_CLOEXEC */`). Set for a listing with `$current.withValue`.
public enum ConstantStyle: String, Sendable, CaseIterable {
  case abbrev, raw, verbose
  @TaskLocal public static var current: ConstantStyle = .abbrev
}

enum ConstantNames {
  /// A constant as the current style wants it: `number` is how strace writes its value raw,
  /// `symbolic` its name(s).
  static func styled(_ number: String, _ symbolic: String) -> String {
    switch ConstantStyle.current {
    case .abbrev: symbolic
    case .raw: number
    case .verbose: number == symbolic ? number : "\(number) /* \(symbolic) */"
    }
  }

  /// strace's raw form of flags and enumerations: hex, 0 as `0`.
  static func rawHex(_ value: UInt64) -> String { value == 0 ? "0" : hex(value) }

  /// A value with no name: its number, with `comment` (`MADV_???`) unless raw.
  static func unnamed(_ value: UInt64, _ comment: String) -> String {
    ConstantStyle.current == .raw ? rawHex(value) : "\(hex(value)) /* \(comment) */"
  }

  /// A constant made of other constants (the access mode and the flags of open, a type and
  /// its flags), styled as one: its parts are named without styling.
  static func styledWhole(_ value: UInt64, _ names: () -> String) -> String {
    styled(rawHex(value), ConstantStyle.$current.withValue(.abbrev, operation: names))
  }

  /// `A|B|0x40` for the named bits of `value` and what is left; `zero` when no bit is set.
  static func flags(_ value: UInt64, _ names: [(UInt64, String)], zero: String = "0") -> String {
    styled(rawHex(value), flagNames(value, names, zero: zero))
  }

  private static func flagNames(_ value: UInt64, _ names: [(UInt64, String)], zero: String) -> String {
    var parts: [String] = []
    var left = value
    for (bits, name) in names where bits != 0 && left & bits == bits {
      parts.append(name)
      left &= ~bits
    }
    if left != 0 { parts.append(hex(left)) }
    return parts.isEmpty ? zero : parts.joined(separator: "|")
  }

  /// The name of `value`, or `0x5 /* MADV_??? */`.
  static func enumeration(_ value: UInt64, _ names: [UInt64: String], unknown prefix: String)
    -> String
  {
    names[value].map { styled(rawHex(value), $0) } ?? unnamed(value, prefix + "???")
  }

  static func openFlags(_ value: UInt64) -> String {
    styledWhole(value & 0xffff_ffff) { openFlagNames(value) }
  }

  private static func openFlagNames(_ value: UInt64) -> String {
    let flags = value & 0xffff_ffff
    let access = ["O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE"][Int(flags & 3)]
    let rest = flags & ~3
    return rest == 0 ? access : access + "|" + Self.flags(rest, openFlagNames)
  }

  // In strace's order (O_CLOEXEC before O_DIRECTORY, O_ASYNC last as FASYNC); a composite
  // before its parts, so O_SYNC is not printed as O_DSYNC|0x100000.
  static let openFlagNames: [(UInt64, String)] = [
    (0o100, "O_CREAT"), (0o200, "O_EXCL"), (0o400, "O_NOCTTY"), (0o1000, "O_TRUNC"),
    (0o2000, "O_APPEND"), (0o4000, "O_NONBLOCK"), (0o4010000, "O_SYNC"), (0o10000, "O_DSYNC"),
    (0o40000, "O_DIRECT"), (0o100000, "O_LARGEFILE"), (0o400000, "O_NOFOLLOW"), (0o1000000, "O_NOATIME"),
    (0o2000000, "O_CLOEXEC"), (0o10000000, "O_PATH"), (0o20200000, "O_TMPFILE"), (0o200000, "O_DIRECTORY"),
    (0o20000, "FASYNC"),
  ]

  /// Whether open's mode argument means anything (strace omits it otherwise).
  static func opensWithMode(_ flags: UInt64) -> Bool {
    flags & 0o100 != 0 || flags & 0o20000000 != 0
  }

  static func mode(_ value: UInt64) -> String {
    octal(value & 0o7777)
  }

  /// A dev_t as glibc's makedev would be called to make it (`makedev(0xfe, 0)`), or its
  /// number.
  static func device(_ value: UInt64) -> String {
    let major = (value >> 8 & 0xfff) | (value >> 32 & ~0xfff)
    let minor = (value & 0xff) | (value >> 12 & ~0xff)
    return styled(rawHex(value), "makedev(\(major == 0 ? "0" : hex(major)), \(minor == 0 ? "0" : hex(minor)))")
  }

  /// A file mode as `fileMode` names it, or its octal number.
  static func styledFileMode(_ value: UInt64) -> String { styled(octal(value), fileMode(value)) }

  /// statfs's f_type, the file systems one meets most (strace's names).
  static let filesystemMagic: [UInt64: String] = [
    0x0187: "AUTOFS_SUPER_MAGIC", 0x1cd1: "DEVPTS_SUPER_MAGIC", 0x4d44: "MSDOS_SUPER_MAGIC", 0x6969: "NFS_SUPER_MAGIC",
    0x9660: "ISOFS_SUPER_MAGIC", 0x9fa0: "PROC_SUPER_MAGIC", 0xef53: "EXT2_SUPER_MAGIC", 0x0027_e0eb: "CGROUP_SUPER_MAGIC",
    0x00c3_6400: "CEPH_SUPER_MAGIC", 0x0102_1994: "TMPFS_MAGIC", 0x0102_1997: "V9FS_MAGIC", 0x0904_1934: "ANON_INODE_FS_MAGIC",
    0x2011_bab0: "EXFAT_SUPER_MAGIC", 0x2fc1_2fc1: "ZFS_SUPER_MAGIC", 0x4249_4e4d: "BINFMTFS_MAGIC", 0x5049_5045: "PIPEFS_MAGIC",
    0x534f_434b: "SOCKFS_MAGIC", 0x5846_5342: "XFS_SUPER_MAGIC", 0x6265_6572: "SYSFS_MAGIC", 0x6367_7270: "CGROUP2_SUPER_MAGIC",
    0x6462_6720: "DEBUGFS_MAGIC", 0x6573_5546: "FUSE_SUPER_MAGIC", 0x6e73_6673: "NSFS_MAGIC", 0x7363_6673: "SECURITYFS_MAGIC",
    0x7371_7368: "SQUASHFS_MAGIC", 0x7472_6163: "TRACEFS_MAGIC", 0x794c_7630: "OVERLAYFS_SUPER_MAGIC", 0x8584_58f6: "RAMFS_MAGIC",
    0x9123_683e: "BTRFS_SUPER_MAGIC", 0x9584_58f6: "HUGETLBFS_MAGIC", 0xcafe_4a11: "BPF_FS_MAGIC", 0xde5e_81e4: "EFIVARFS_MAGIC",
    0xe0f5_e1e2: "EROFS_SUPER_MAGIC_V1", 0xf2f5_2010: "F2FS_SUPER_MAGIC", 0xf97c_ff8c: "SELINUX_MAGIC", 0xfe53_4d42: "SMB2_SUPER_MAGIC",
    0xff53_4d42: "CIFS_SUPER_MAGIC",
  ]
  static let statfsFlagNames: [(UInt64, String)] = [
    (0x20, "ST_VALID"), (0x1, "ST_RDONLY"), (0x2, "ST_NOSUID"), (0x4, "ST_NODEV"), (0x8, "ST_NOEXEC"), (0x10, "ST_SYNCHRONOUS"),
    (0x40, "ST_MANDLOCK"), (0x400, "ST_NOATIME"), (0x800, "ST_NODIRATIME"), (0x1000, "ST_RELATIME"), (0x2000, "ST_NOSYMFOLLOW"),
  ]

  /// A capability set as strace prints it: `1<<CAP_CHOWN|1<<CAP_KILL`, `0` when empty.
  static func capabilities(low: UInt64, high: UInt64) -> String {
    let value = high << 32 | low
    guard value != 0 else { return "0" }
    var names: [String] = []
    var rest = value
    for bit in 0..<64 where value & (1 << UInt64(bit)) != 0 {
      guard let name = capabilityNames[UInt64(bit)] else { continue }
      names.append("1<<" + name)
      rest &= ~(1 << UInt64(bit))
    }
    if rest != 0 { names.append(hex(rest)) }
    return names.joined(separator: "|")
  }

  /// A clock_t count as strace prints it: `150 /* 1.50 s */`, at Linux's 100 ticks a second
  /// (USER_HZ, what the kernel reports to programs whatever its own tick).
  static func clockTicks(_ value: UInt64) -> String {
    guard value > 0 else { return "0" }
    let hundredths = value % 100
    return "\(value) /* \(value / 100).\(hundredths < 10 ? "0" : "")\(hundredths) s */"
  }

  /// printf's `%#03o`, as strace prints modes: a leading 0, at least three digits in all.
  static func octal(_ value: UInt64) -> String {
    let text = value == 0 ? "0" : "0" + String(value, radix: 8)
    return String(repeating: "0", count: max(0, 3 - text.count)) + text
  }

  static func fileMode(_ value: UInt64) -> String {
    let types: [UInt64: String] = [
      0o140000: "S_IFSOCK", 0o120000: "S_IFLNK", 0o100000: "S_IFREG", 0o060000: "S_IFBLK",
      0o040000: "S_IFDIR", 0o020000: "S_IFCHR", 0o010000: "S_IFIFO",
    ]
    // strace: the type, then S_ISUID, S_ISGID and S_ISVTX by name, then the permissions.
    let type = value & 0o170000
    let special = [(UInt64(0o4000), "S_ISUID|"), (0o2000, "S_ISGID|"), (0o1000, "S_ISVTX|")].filter { value & $0.0 != 0 }.map(\.1).joined()
    let typeName = type == 0 ? "" : (types[type] ?? hex(type)) + "|"
    return typeName + special + octal(value & 0o777)
  }

  static let accessModeNames: [(UInt64, String)] = [(4, "R_OK"), (2, "W_OK"), (1, "X_OK")]
  static let protNames: [(UInt64, String)] = [
    (1, "PROT_READ"), (2, "PROT_WRITE"), (4, "PROT_EXEC"), (8, "PROT_SEM"),
    (0x0100_0000, "PROT_GROWSDOWN"), (0x0200_0000, "PROT_GROWSUP"),
  ]

  static func mapFlags(_ value: UInt64) -> String {
    styledWhole(value) { mapFlagNames(value) }
  }

  private static func mapFlagNames(_ value: UInt64) -> String {
    let types: [UInt64: String] = [1: "MAP_SHARED", 2: "MAP_PRIVATE", 3: "MAP_SHARED_VALIDATE"]
    let type = types[value & 0xf] ?? hex(value & 0xf)
    let rest = value & ~0xf
    return rest == 0 ? type : type + "|" + flags(rest, Self.mapFlagNames)
  }

  static let mapFlagNames: [(UInt64, String)] = [
    (0x10, "MAP_FIXED"), (0x20, "MAP_ANONYMOUS"), (0x40, "MAP_32BIT"), (0x100, "MAP_GROWSDOWN"),
    (0x800, "MAP_DENYWRITE"), (0x1000, "MAP_EXECUTABLE"), (0x2000, "MAP_LOCKED"),
    (0x4000, "MAP_NORESERVE"), (0x8000, "MAP_POPULATE"), (0x10000, "MAP_NONBLOCK"),
    (0x20000, "MAP_STACK"), (0x40000, "MAP_HUGETLB"), (0x80000, "MAP_SYNC"),
    (0x10_0000, "MAP_FIXED_NOREPLACE"), (0x400_0000, "MAP_UNINITIALIZED"),
  ]
  static let mremapFlagNames: [(UInt64, String)] = [
    (1, "MREMAP_MAYMOVE"), (2, "MREMAP_FIXED"), (4, "MREMAP_DONTUNMAP"),
  ]
  static let whenceNames: [UInt64: String] = [
    0: "SEEK_SET", 1: "SEEK_CUR", 2: "SEEK_END", 3: "SEEK_DATA", 4: "SEEK_HOLE",
  ]
  static let atFlagNames: [(UInt64, String)] = [
    (0x100, "AT_SYMLINK_NOFOLLOW"), (0x200, "AT_REMOVEDIR"), (0x400, "AT_SYMLINK_FOLLOW"),
    (0x800, "AT_NO_AUTOMOUNT"), (0x1000, "AT_EMPTY_PATH"), (0x2000, "AT_STATX_FORCE_SYNC"),
    (0x4000, "AT_STATX_DONT_SYNC"), (0x8000, "AT_RECURSIVE"),
  ]

  static func named(_ value: UInt64, _ set: ConstantSet) -> String {
    let (names, unknown): ([UInt64: String], String) =
      switch set {
      case .rlimitResource:
        ([0: "RLIMIT_CPU", 1: "RLIMIT_FSIZE", 2: "RLIMIT_DATA", 3: "RLIMIT_STACK", 4: "RLIMIT_CORE", 5: "RLIMIT_RSS",
          6: "RLIMIT_NPROC", 7: "RLIMIT_NOFILE", 8: "RLIMIT_MEMLOCK", 9: "RLIMIT_AS", 10: "RLIMIT_LOCKS",
          11: "RLIMIT_SIGPENDING", 12: "RLIMIT_MSGQUEUE", 13: "RLIMIT_NICE", 14: "RLIMIT_RTPRIO", 15: "RLIMIT_RTTIME"], "RLIMIT_")
      case .rusageWho: ([0: "RUSAGE_SELF", UInt64(bitPattern: -1): "RUSAGE_CHILDREN", 1: "RUSAGE_THREAD"], "RUSAGE_")
      case .itimerWhich: ([0: "ITIMER_REAL", 1: "ITIMER_VIRTUAL", 2: "ITIMER_PROF"], "ITIMER_")
      case .fadviseAdvice:
        ([0: "POSIX_FADV_NORMAL", 1: "POSIX_FADV_RANDOM", 2: "POSIX_FADV_SEQUENTIAL", 3: "POSIX_FADV_WILLNEED",
          4: "POSIX_FADV_DONTNEED", 5: "POSIX_FADV_NOREUSE"], "POSIX_FADV_")
      case .socketLevel: ([0: "SOL_IP", 1: "SOL_SOCKET", 6: "SOL_TCP", 17: "SOL_UDP", 41: "SOL_IPV6"], "SOL_")
      }
    // (RUSAGE_CHILDREN is -1 as an int: the upper half of the register is not the argument's.)
    let key = set == .rusageWho && UInt32(truncatingIfNeeded: value) == UInt32.max ? UInt64(bitPattern: -1) : value
    return enumeration(key, names, unknown: unknown)
  }

  static func socketOption(_ value: UInt64, level: UInt64) -> String {
    switch level {
    case 1: return enumeration(value, socketOptionNames, unknown: "SO_")
    case 6: return enumeration(value, tcpOptionNames, unknown: "TCP_")
    case 0: return enumeration(value, ipOptionNames, unknown: "IP_")
    case 41: return enumeration(value, ipv6OptionNames, unknown: "IPV6_")
    default: return String(Int32(truncatingIfNeeded: value))
    }
  }

  /// `names` numbered from `first`, nil for gaps.
  private static func numbered(from first: UInt64, _ names: [String?], prefix: String) -> [UInt64: String] {
    var table: [UInt64: String] = [:]
    for (index, name) in names.enumerated() { if let name { table[first + UInt64(index)] = prefix + name } }
    return table
  }

  static let socketOptionNames = numbered(
    from: 1,
    [
      "DEBUG", "REUSEADDR", "TYPE", "ERROR", "DONTROUTE", "BROADCAST", "SNDBUF", "RCVBUF", "KEEPALIVE", "OOBINLINE", "NO_CHECK",
      "PRIORITY", "LINGER", "BSDCOMPAT", "REUSEPORT", "PASSCRED", "PEERCRED", "RCVLOWAT", "SNDLOWAT", "RCVTIMEO_OLD", "SNDTIMEO_OLD",
      "SECURITY_AUTHENTICATION", "SECURITY_ENCRYPTION_TRANSPORT", "SECURITY_ENCRYPTION_NETWORK", "BINDTODEVICE", "ATTACH_FILTER",
      "DETACH_FILTER", "PEERNAME", "TIMESTAMP_OLD", "ACCEPTCONN", "PEERSEC", "SNDBUFFORCE", "RCVBUFFORCE", "PASSSEC",
      "TIMESTAMPNS_OLD", "MARK", "TIMESTAMPING_OLD", "PROTOCOL", "DOMAIN", "RXQ_OVFL", "WIFI_STATUS", "PEEK_OFF", "NOFCS",
      "LOCK_FILTER", "SELECT_ERR_QUEUE", "BUSY_POLL", "MAX_PACING_RATE", "BPF_EXTENSIONS", "INCOMING_CPU", "ATTACH_BPF",
      "ATTACH_REUSEPORT_CBPF", "ATTACH_REUSEPORT_EBPF", "CNX_ADVICE", nil, "MEMINFO", "INCOMING_NAPI_ID", "COOKIE", nil, "PEERGROUPS",
      "ZEROCOPY", "TXTIME", "BINDTOIFINDEX", "TIMESTAMP_NEW", "TIMESTAMPNS_NEW", "TIMESTAMPING_NEW", "RCVTIMEO_NEW", "SNDTIMEO_NEW",
      "DETACH_REUSEPORT_BPF", "PREFER_BUSY_POLL", "BUSY_POLL_BUDGET", "NETNS_COOKIE", "BUF_LOCK",
    ], prefix: "SO_")
  static let tcpOptionNames = numbered(
    from: 1,
    [
      "NODELAY", "MAXSEG", "CORK", "KEEPIDLE", "KEEPINTVL", "KEEPCNT", "SYNCNT", "LINGER2", "DEFER_ACCEPT", "WINDOW_CLAMP", "INFO",
      "QUICKACK", "CONGESTION", "MD5SIG", nil, "THIN_LINEAR_TIMEOUTS", "THIN_DUPACK", "USER_TIMEOUT", "REPAIR", "REPAIR_QUEUE",
      "QUEUE_SEQ", "REPAIR_OPTIONS", "FASTOPEN", "TIMESTAMP", "NOTSENT_LOWAT", "CC_INFO", "SAVE_SYN", "SAVED_SYN", "REPAIR_WINDOW",
      "FASTOPEN_CONNECT", "ULP", "MD5SIG_EXT", "FASTOPEN_KEY", "FASTOPEN_NO_COOKIE", "ZEROCOPY_RECEIVE", "INQ", "TX_DELAY",
    ], prefix: "TCP_")
  static let ipOptionNames = numbered(
    from: 1,
    [
      "TOS", "TTL", "HDRINCL", "OPTIONS", "ROUTER_ALERT", "RECVOPTS", "RETOPTS", "PKTINFO", "PKTOPTIONS", "MTU_DISCOVER", "RECVERR",
      "RECVTTL", "RECVTOS", "MTU", "FREEBIND", "IPSEC_POLICY", "XFRM_POLICY", "PASSSEC", "TRANSPARENT", "ORIGDSTADDR", "MINTTL",
      "NODEFRAG", "CHECKSUM", "BIND_ADDRESS_NO_PORT", "RECVFRAGSIZE", "RECVERR_RFC4884", nil, nil, nil, nil, nil, "MULTICAST_IF",
      "MULTICAST_TTL", "MULTICAST_LOOP", "ADD_MEMBERSHIP", "DROP_MEMBERSHIP", "UNBLOCK_SOURCE", "BLOCK_SOURCE",
      "ADD_SOURCE_MEMBERSHIP", "DROP_SOURCE_MEMBERSHIP", "MSFILTER",
    ], prefix: "IP_").merging(
      numbered(
        from: 42, ["JOIN_GROUP", "BLOCK_SOURCE", "UNBLOCK_SOURCE", "LEAVE_GROUP", "JOIN_SOURCE_GROUP", "LEAVE_SOURCE_GROUP", "MSFILTER"],
        prefix: "MCAST_")
    ) { first, _ in first }
    .merging([49: "IP_MULTICAST_ALL", 50: "IP_UNICAST_IF"]) { first, _ in first }
  static let ipv6OptionNames = numbered(
    from: 1,
    [
      "ADDRFORM", "2292PKTINFO", "2292HOPOPTS", "2292DSTOPTS", "2292RTHDR", "2292PKTOPTIONS", "CHECKSUM", "2292HOPLIMIT", "NEXTHOP",
      "AUTHHDR", "FLOWINFO", nil, nil, nil, nil, "UNICAST_HOPS", "MULTICAST_IF", "MULTICAST_HOPS", "MULTICAST_LOOP", "ADD_MEMBERSHIP",
      "DROP_MEMBERSHIP", "ROUTER_ALERT", "MTU_DISCOVER", "MTU", "RECVERR", "V6ONLY", "JOIN_ANYCAST", "LEAVE_ANYCAST",
      "MULTICAST_ALL", "ROUTER_ALERT_ISOLATE", "RECVERR_RFC4884", "FLOWLABEL_MGR", "FLOWINFO_SEND", "IPSEC_POLICY", "XFRM_POLICY",
      "HDRINCL",
    ], prefix: "IPV6_").merging(
      numbered(
        from: 49,
        [
          "RECVPKTINFO", "PKTINFO", "RECVHOPLIMIT", "HOPLIMIT", "RECVHOPOPTS", "HOPOPTS", "RTHDRDSTOPTS", "RECVRTHDR", "RTHDR",
          "RECVDSTOPTS", "DSTOPTS", "RECVPATHMTU", "PATHMTU", "DONTFRAG", nil, nil, "RECVTCLASS", "TCLASS",
        ], prefix: "IPV6_")
    ) { first, _ in first }

  /// socket's protocol: named for AF_INET and AF_INET6 (`IPPROTO_IP` for 0), a number else.
  static func socketProtocol(_ value: UInt64, domain: UInt64) -> String {
    guard domain == 2 || domain == 10 else { return String(Int32(truncatingIfNeeded: value)) }
    let names: [UInt64: String] = [
      0: "IPPROTO_IP", 1: "IPPROTO_ICMP", 2: "IPPROTO_IGMP", 4: "IPPROTO_IPIP", 6: "IPPROTO_TCP", 8: "IPPROTO_EGP", 12: "IPPROTO_PUP",
      17: "IPPROTO_UDP", 22: "IPPROTO_IDP", 29: "IPPROTO_TP", 33: "IPPROTO_DCCP", 41: "IPPROTO_IPV6", 46: "IPPROTO_RSVP",
      47: "IPPROTO_GRE", 50: "IPPROTO_ESP", 51: "IPPROTO_AH", 58: "IPPROTO_ICMPV6", 92: "IPPROTO_MTP", 94: "IPPROTO_BEETPH",
      98: "IPPROTO_ENCAP", 103: "IPPROTO_PIM", 108: "IPPROTO_COMP", 132: "IPPROTO_SCTP", 136: "IPPROTO_UDPLITE", 137: "IPPROTO_MPLS",
      143: "IPPROTO_ETHERNET", 255: "IPPROTO_RAW", 262: "IPPROTO_MPTCP",
    ]
    return enumeration(value, names, unknown: "IPPROTO_")
  }

  static func flags(_ value: UInt64, _ set: FlagSet) -> String {
    switch set {
    case .getrandom: return flags(value, [(1, "GRND_NONBLOCK"), (2, "GRND_RANDOM"), (4, "GRND_INSECURE")])
    case .epollCreate: return flags(value, [(0o2000000, "EPOLL_CLOEXEC")])
    case .eventfd: return flags(value, [(1, "EFD_SEMAPHORE"), (0o2000000, "EFD_CLOEXEC"), (0o4000, "EFD_NONBLOCK")])
    case .flock: return flags(value, [(1, "LOCK_SH"), (2, "LOCK_EX"), (4, "LOCK_NB"), (8, "LOCK_UN")])
    case .statxMask:
      // STATX_ALL stands for the twelve bits up to STATX_BTIME together, STATX_BASIC_STATS
      // for the first eleven, as strace writes them.
      let basic: UInt64 = value & 0xfff == 0xfff ? 0xfff : 0x7ff
      let rest = flags(
        value & ~(value & basic == basic ? basic : 0),
        [(0x1, "STATX_TYPE"), (0x2, "STATX_MODE"), (0x4, "STATX_NLINK"), (0x8, "STATX_UID"), (0x10, "STATX_GID"),
         (0x20, "STATX_ATIME"), (0x40, "STATX_MTIME"), (0x80, "STATX_CTIME"), (0x100, "STATX_INO"), (0x200, "STATX_SIZE"),
         (0x400, "STATX_BLOCKS"), (0x800, "STATX_BTIME"), (0x1000, "STATX_MNT_ID"), (0x2000, "STATX_DIOALIGN")])
      guard value & basic == basic else { return rest }
      let name = basic == 0xfff ? "STATX_ALL" : "STATX_BASIC_STATS"
      return value == basic ? name : name + "|" + rest
    }
  }

  /// ` /* 2026-12-06T20:08:31.290251042+0000 */` after a time, or nothing for the epoch
  /// itself (strace leaves a zero time, a file system's missing birth time, uncommented).
  static func timestampComment(seconds: Int64, nanoseconds: Int64) -> String {
    seconds == 0 && nanoseconds == 0 ? "" : " /* " + timestamp(seconds: seconds, nanoseconds: nanoseconds) + " */"
  }

  /// A time as strace -v comments it: `2026-12-06T20:08:31.290251042+0000`, in local time.
  static func timestamp(seconds: Int64, nanoseconds: Int64) -> String {
    var time = time_t(seconds)
    var parts = tm()
    guard localtime_r(&time, &parts) != nil else { return String(seconds) }
    var buffer = [CChar](repeating: 0, count: 64)
    let date = strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%S", &parts) > 0 ? String(cString: buffer) : String(seconds)
    var zone = [CChar](repeating: 0, count: 16)
    let offset = strftime(&zone, zone.count, "%z", &parts) > 0 ? String(cString: zone) : "+0000"
    let fraction = nanoseconds == 0 ? "" : "." + String(repeating: "0", count: max(0, 9 - String(nanoseconds).count)) + String(nanoseconds)
    return date + fraction + offset
  }

  /// faccessat's flags: 0x200 is AT_EACCESS there.
  static let accessAtFlagNames: [(UInt64, String)] = [(0x100, "AT_SYMLINK_NOFOLLOW"), (0x200, "AT_EACCESS"), (0x1000, "AT_EMPTY_PATH")]

  /// A wait status as strace decodes it: `{WIFEXITED(s) && WEXITSTATUS(s) == 0}`.
  static func waitStatus(_ status: UInt32) -> String {
    let low = status & 0x7f
    if low == 0 { return "{WIFEXITED(s) && WEXITSTATUS(s) == \((status >> 8) & 0xff)}" }
    if status == 0xffff { return "{WIFCONTINUED(s)}" }
    if status & 0xff == 0x7f {
      let stop = "{WIFSTOPPED(s) && WSTOPSIG(s) == \(signal(UInt64((status >> 8) & 0xff)))"
      return status >> 16 == 0 ? stop + "}" : stop + " && status >> 16 == \(status >> 16)}"
    }
    return "{WIFSIGNALED(s) && WTERMSIG(s) == \(signal(UInt64(low)))\(status & 0x80 != 0 ? " && WCOREDUMP(s)" : "")}"
  }

  static func signal(_ value: UInt64) -> String {
    let number = Int(Int32(truncatingIfNeeded: value))
    let name = signalName(number)
    return name == String(number) ? name : styled(String(number), name)
  }

  private static func signalName(_ number: Int) -> String {
    let names = [
      "0", "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE",
      "SIGKILL", "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT",
      "SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGURG", "SIGXCPU",
      "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO", "SIGPWR", "SIGSYS",
    ]
    if (0..<names.count).contains(number) { return names[number] }
    if number == 32 { return "SIGRTMIN" }
    if (33...64).contains(number) { return "SIGRT_\(number - 32)" }
    return String(number)
  }

  /// strace's `[INT TERM]`: the set signals without their SIG prefix.
  /// With more than half of the signals set, strace writes the ones left out, after `~`:
  /// `~[RTMIN RT_1]` is everything but signals 32 and 33.
  static func sigset(_ bytes: [UInt8]) -> String {
    let all = bytes.count * 8
    let set = (0..<all).filter { bytes[$0 / 8] & (1 << ($0 % 8)) != 0 }.map { $0 + 1 }
    let inverted = set.count * 2 > all
    let shown = inverted ? (1...max(all, 1)).filter { !set.contains($0) } : set
    let names = shown.map { number -> String in
      let name = signalName(number)
      return name.hasPrefix("SIG") ? styled(String(number), String(name.dropFirst(3))) : name
    }
    return (inverted ? "~[" : "[") + names.joined(separator: " ") + "]"
  }

  static let sigprocmaskHowNames: [UInt64: String] = [
    0: "SIG_BLOCK", 1: "SIG_UNBLOCK", 2: "SIG_SETMASK",
  ]
  static let clockNames: [UInt64: String] = [
    0: "CLOCK_REALTIME", 1: "CLOCK_MONOTONIC", 2: "CLOCK_PROCESS_CPUTIME_ID",
    3: "CLOCK_THREAD_CPUTIME_ID", 4: "CLOCK_MONOTONIC_RAW", 5: "CLOCK_REALTIME_COARSE",
    6: "CLOCK_MONOTONIC_COARSE", 7: "CLOCK_BOOTTIME", 8: "CLOCK_REALTIME_ALARM",
    9: "CLOCK_BOOTTIME_ALARM", 11: "CLOCK_TAI",
  ]
  static let fcntlNames: [UInt64: String] = [
    0: "F_DUPFD", 1: "F_GETFD", 2: "F_SETFD", 3: "F_GETFL", 4: "F_SETFL", 5: "F_GETLK",
    6: "F_SETLK", 7: "F_SETLKW", 8: "F_SETOWN", 9: "F_GETOWN", 10: "F_SETSIG", 11: "F_GETSIG",
    15: "F_SETOWN_EX", 16: "F_GETOWN_EX", 36: "F_OFD_GETLK", 37: "F_OFD_SETLK",
    38: "F_OFD_SETLKW", 1024: "F_SETLEASE", 1025: "F_GETLEASE", 1026: "F_NOTIFY",
    1030: "F_DUPFD_CLOEXEC", 1031: "F_SETPIPE_SZ", 1032: "F_GETPIPE_SZ", 1033: "F_ADD_SEALS",
    1034: "F_GET_SEALS",
  ]
  /// fcntl commands that take no third argument.
  static let fcntlWithoutArgument: Set<UInt64> = [1, 3, 9, 11, 1025, 1032, 1034]

  static func futexOp(_ value: UInt64) -> String {
    futexOpName(value).map { styled(rawHex(value), $0) } ?? unnamed(value, "FUTEX_???")
  }

  /// `FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME`, or nil for an operation strace does
  /// not name.
  private static func futexOpName(_ value: UInt64) -> String? {
    let names: [UInt64: String] = [
      0: "FUTEX_WAIT", 1: "FUTEX_WAKE", 2: "FUTEX_FD", 3: "FUTEX_REQUEUE",
      4: "FUTEX_CMP_REQUEUE", 5: "FUTEX_WAKE_OP", 6: "FUTEX_LOCK_PI", 7: "FUTEX_UNLOCK_PI",
      8: "FUTEX_TRYLOCK_PI", 9: "FUTEX_WAIT_BITSET", 10: "FUTEX_WAKE_BITSET",
      11: "FUTEX_WAIT_REQUEUE_PI", 12: "FUTEX_CMP_REQUEUE_PI", 13: "FUTEX_LOCK_PI2",
    ]
    guard let base = names[value & 0x7f], value & ~0x1ff == 0 else { return nil }
    let isPrivate = value & 0x80 != 0
    let realtime = value & 0x100 != 0
    return base + (isPrivate ? "_PRIVATE" : "") + (realtime ? "|FUTEX_CLOCK_REALTIME" : "")
  }

  static let madviseNames: [UInt64: String] = [
    0: "MADV_NORMAL", 1: "MADV_RANDOM", 2: "MADV_SEQUENTIAL", 3: "MADV_WILLNEED",
    4: "MADV_DONTNEED", 8: "MADV_FREE", 9: "MADV_REMOVE", 10: "MADV_DONTFORK", 11: "MADV_DOFORK",
    12: "MADV_MERGEABLE", 13: "MADV_UNMERGEABLE", 14: "MADV_HUGEPAGE", 15: "MADV_NOHUGEPAGE",
    16: "MADV_DONTDUMP", 17: "MADV_DODUMP", 18: "MADV_WIPEONFORK", 19: "MADV_KEEPONFORK",
    20: "MADV_COLD", 21: "MADV_PAGEOUT", 22: "MADV_POPULATE_READ", 23: "MADV_POPULATE_WRITE",
    24: "MADV_DONTNEED_LOCKED", 25: "MADV_COLLAPSE", 100: "MADV_HWPOISON",
    101: "MADV_SOFT_OFFLINE",
  ]
  static let socketDomainNames: [UInt64: String] = [
    0: "AF_UNSPEC", 1: "AF_UNIX", 2: "AF_INET", 10: "AF_INET6", 16: "AF_NETLINK",
    17: "AF_PACKET",
  ]

  static func socketType(_ value: UInt64) -> String {
    styledWhole(value) { socketTypeNames(value) }
  }

  private static func socketTypeNames(_ value: UInt64) -> String {
    let types: [UInt64: String] = [
      1: "SOCK_STREAM", 2: "SOCK_DGRAM", 3: "SOCK_RAW", 4: "SOCK_RDM", 5: "SOCK_SEQPACKET",
      6: "SOCK_DCCP", 10: "SOCK_PACKET",
    ]
    let base = value & 0xf
    let rest = flags(value & ~0xf, [(0o2000000, "SOCK_CLOEXEC"), (0o4000, "SOCK_NONBLOCK")])
    guard base != 0 else { return rest }
    let type = types[base] ?? hex(base)
    return value & ~0xf == 0 ? type : type + "|" + rest
  }

  static let archPrctlNames: [UInt64: String] = [
    0x1001: "ARCH_SET_GS", 0x1002: "ARCH_SET_FS", 0x1003: "ARCH_GET_FS", 0x1004: "ARCH_GET_GS",
    0x1011: "ARCH_GET_CPUID", 0x1012: "ARCH_SET_CPUID", 0x1021: "ARCH_GET_XCOMP_SUPP",
    0x1022: "ARCH_GET_XCOMP_PERM", 0x1023: "ARCH_REQ_XCOMP_PERM",
    0x1024: "ARCH_GET_XCOMP_GUEST_PERM", 0x1025: "ARCH_REQ_XCOMP_GUEST_PERM",
  ]
  static let prctlNames: [UInt64: String] = {
    var names: [UInt64: String] = [0x5961_6d61: "PR_SET_PTRACER", 0x5356_4d41: "PR_SET_VMA"]
    let numbered = [
      "SET_PDEATHSIG", "GET_PDEATHSIG", "GET_DUMPABLE", "SET_DUMPABLE", "GET_UNALIGN", "SET_UNALIGN", "GET_KEEPCAPS", "SET_KEEPCAPS",
      "GET_FPEMU", "SET_FPEMU", "GET_FPEXC", "SET_FPEXC", "GET_TIMING", "SET_TIMING", "SET_NAME", "GET_NAME", nil, nil, "GET_ENDIAN",
      "SET_ENDIAN", "GET_SECCOMP", "SET_SECCOMP", "CAPBSET_READ", "CAPBSET_DROP", "GET_TSC", "SET_TSC", "GET_SECUREBITS",
      "SET_SECUREBITS", "SET_TIMERSLACK", "GET_TIMERSLACK", "TASK_PERF_EVENTS_DISABLE", "TASK_PERF_EVENTS_ENABLE", "MCE_KILL",
      "MCE_KILL_GET", "SET_MM", "SET_CHILD_SUBREAPER", "GET_CHILD_SUBREAPER", "SET_NO_NEW_PRIVS", "GET_NO_NEW_PRIVS",
      "GET_TID_ADDRESS", "SET_THP_DISABLE", "GET_THP_DISABLE", "MPX_ENABLE_MANAGEMENT", "MPX_DISABLE_MANAGEMENT", "SET_FP_MODE",
      "GET_FP_MODE", "CAP_AMBIENT", nil, nil, "SVE_SET_VL", "SVE_GET_VL", "GET_SPECULATION_CTRL", "SET_SPECULATION_CTRL",
      "PAC_RESET_KEYS", "SET_TAGGED_ADDR_CTRL", "GET_TAGGED_ADDR_CTRL", "SET_IO_FLUSHER", "GET_IO_FLUSHER",
      "SET_SYSCALL_USER_DISPATCH", "PAC_SET_ENABLED_KEYS", "PAC_GET_ENABLED_KEYS", "SCHED_CORE",
    ]
    for (index, name) in numbered.enumerated() { if let name { names[UInt64(index + 1)] = "PR_" + name } }
    return names
  }()
  static let dumpableNames: [UInt64: String] = [0: "SUID_DUMP_DISABLE", 1: "SUID_DUMP_USER", 2: "SUID_DUMP_ROOT"]
  static let capabilityNames: [UInt64: String] = Dictionary(
    uniqueKeysWithValues: [
      "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP", "LINUX_IMMUTABLE",
      "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT",
      "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE",
      "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ",
      "PERFMON", "BPF", "CHECKPOINT_RESTORE",
    ].enumerated().map { (UInt64($0.offset), "CAP_" + $0.element) })
  static let cloneFlagNames: [(UInt64, String)] = [
    (0x100, "CLONE_VM"), (0x200, "CLONE_FS"), (0x400, "CLONE_FILES"),
    (0x800, "CLONE_SIGHAND"), (0x1000, "CLONE_PIDFD"), (0x2000, "CLONE_PTRACE"),
    (0x4000, "CLONE_VFORK"), (0x8000, "CLONE_PARENT"), (0x10000, "CLONE_THREAD"),
    (0x20000, "CLONE_NEWNS"), (0x40000, "CLONE_SYSVSEM"), (0x80000, "CLONE_SETTLS"),
    (0x10_0000, "CLONE_PARENT_SETTID"), (0x20_0000, "CLONE_CHILD_CLEARTID"),
    (0x40_0000, "CLONE_DETACHED"), (0x80_0000, "CLONE_UNTRACED"),
    (0x100_0000, "CLONE_CHILD_SETTID"), (0x200_0000, "CLONE_NEWCGROUP"),
    (0x400_0000, "CLONE_NEWUTS"), (0x800_0000, "CLONE_NEWIPC"), (0x1000_0000, "CLONE_NEWUSER"),
    (0x2000_0000, "CLONE_NEWPID"), (0x4000_0000, "CLONE_NEWNET"), (0x8000_0000, "CLONE_IO"),
  ]

  /// `CLONE_VM|CLONE_FS|…|SIGCHLD`: the low byte is the signal sent to the parent at exit.
  static func cloneFlags(_ value: UInt64) -> String {
    let exitSignal = value & 0xff
    let named = value & ~0xff == 0 ? "" : flags(value & ~0xff, cloneFlagNames)
    let signalName = exitSignal == 0 ? "" : signal(exitSignal)
    let parts = [named, signalName].filter { !$0.isEmpty }
    return parts.isEmpty ? "0" : parts.joined(separator: "|")
  }

  static let waitOptionNames: [(UInt64, String)] = [
    (1, "WNOHANG"), (2, "WUNTRACED"), (4, "WEXITED"), (8, "WCONTINUED"), (0x0100_0000, "WNOWAIT"),
    (0x2000_0000, "__WNOTHREAD"), (0x4000_0000, "__WALL"), (0x8000_0000, "__WCLONE"),
  ]
  /// In strace's order (its xlat table), which is not the bits' order.
  static let sigactionFlagNames: [(UInt64, String)] = [
    (0x0400_0000, "SA_RESTORER"), (0x0800_0000, "SA_ONSTACK"), (0x1000_0000, "SA_RESTART"), (0x2000_0000, "SA_INTERRUPT"),
    (0x4000_0000, "SA_NODEFER"), (0x8000_0000, "SA_RESETHAND"), (4, "SA_SIGINFO"), (1, "SA_NOCLDSTOP"), (2, "SA_NOCLDWAIT"),
  ]
  static let epollEventNames: [(UInt64, String)] = [
    (1, "EPOLLIN"), (2, "EPOLLPRI"), (4, "EPOLLOUT"), (8, "EPOLLERR"), (0x10, "EPOLLHUP"),
    (0x20, "EPOLLNVAL"), (0x40, "EPOLLRDNORM"), (0x80, "EPOLLRDBAND"), (0x100, "EPOLLWRNORM"),
    (0x200, "EPOLLWRBAND"), (0x400, "EPOLLMSG"), (0x2000, "EPOLLRDHUP"),
    (1 << 28, "EPOLLEXCLUSIVE"), (1 << 29, "EPOLLWAKEUP"), (1 << 30, "EPOLLONESHOT"),
    (1 << 31, "EPOLLET"),
  ]
  static let pollEventNames: [(UInt64, String)] = [
    (1, "POLLIN"), (2, "POLLPRI"), (4, "POLLOUT"), (8, "POLLERR"), (0x10, "POLLHUP"),
    (0x20, "POLLNVAL"), (0x40, "POLLRDNORM"), (0x80, "POLLRDBAND"), (0x100, "POLLWRNORM"),
    (0x200, "POLLWRBAND"), (0x2000, "POLLRDHUP"),
  ]
}
