/// Prints system calls as strace does: inputs at entry, outputs at exit, an output buffer only
/// on success (else its address), unknown values raw.
///
/// Memory comes through `TraceeMemoryReading`: live for the recorder, a `MemorySnapshot` of the
/// captured chunks for `rewind dump`. Whatever cannot be read prints as its address, so a
/// partial snapshot still gives a line.
public struct SyscallFormatter {
  /// One strace line: `openat(AT_FDCWD, "/etc/passwd", O_RDONLY|O_CLOEXEC) = 3`.
  ///
  /// `result` is nil when the call has not returned (or never returns: `exit_group(3) = ?`).
  /// Strings are escaped like strace (`\n \t \" \\`, other bytes in octal) and cut after
  /// `stringLimit` bytes with `...`.
  ///
  /// `verbose` is strace's `-v`: structures in full (`stat`), the environment and directory
  /// entries listed instead of counted.
  public static func format(
    _ call: Syscall, arguments: [UInt64], result: Int64?, memory: some TraceeMemoryReading,
    stringLimit: Int = 32, verbose: Bool = false
  ) -> String {
    let line = FormattedCall(
      call: CallState(syscall: call, arguments: arguments, result: result ?? 0, memory: memory),
      hasSucceeded: result.map { $0 >= 0 || $0 < -4095 } ?? false, stringLimit: stringLimit, verbose: verbose)
    let arguments = call.args.indices.compactMap { line.argument(at: $0) }
    // umask's result is a mode, which strace prints in octal.
    if call.name == "umask", let result, result >= 0 {
      // printf's %#03o: a leading 0, then at least three digits in all.
      let octal = "0" + String(result, radix: 8)
      return "umask(\(arguments.joined(separator: ", "))) = " + String(repeating: "0", count: max(0, 3 - octal.count)) + octal
    }
    // fcntl's F_GETFD and F_GETFL return flags, which strace names after the value.
    let command = line.call.arguments.count > 1 ? line.call.arguments[1] : 0
    if call.name == "fcntl", let result, result > 0, command == 1 || command == 3 {
      let flags = command == 1 ? (result == 1 ? "FD_CLOEXEC" : hex(UInt64(result))) : ConstantNames.openFlags(UInt64(result))
      return "fcntl(\(arguments.joined(separator: ", "))) = \(hex(UInt64(result))) (flags \(flags))"
    }
    var text = "\(call.name)(\(arguments.joined(separator: ", "))) = " + formatResult(result, as: call.returns)
    if case .pollfds(let countArg)? = call.args.first {
      if result == 0 {
        text += " (Timeout)"
      } else if let results = line.pollResults(at: line.call.arguments[0], count: line.call.arguments[countArg]) {
        text += " " + results
      }
    }
    return text
  }

  /// `strings` as strace lists an argv or an environment: `["A=1", "B=2"]`, each cut after
  /// `stringLimit` bytes.
  public static func stringList(_ strings: [String], stringLimit: Int = 32) -> String {
    "[" + strings.map { let bytes = Array($0.utf8); return quoted(Array(bytes.prefix(stringLimit))) + (bytes.count > stringLimit ? "..." : "") }
      .joined(separator: ", ") + "]"
  }

  /// The part after ` = `: `3`, `0x7f3a2c000000`, `-1 ENOENT (No such file or directory)`.
  public static func formatResult(_ result: Int64?, as kind: ReturnKind) -> String {
    guard let result, kind != .none else { return "?" }
    if (-4095 ... -1).contains(result) {
      let errno = Int(-result)
      guard let (name, message) = ErrnoNames.lookup(errno) else { return "-1 (errno \(errno))" }
      return ErrnoNames.isRestartCode(errno) ? "? \(name) (\(message))" : "-1 \(name) (\(message))"
    }
    switch kind {
    case .address, .hex: return hex(UInt64(bitPattern: result))
    case .int, .none: return String(result)
    }
  }
}

/// One call being printed: the arguments, the memory, and whether outputs may be shown.
struct FormattedCall {
  let call: CallState
  let hasSucceeded: Bool
  let stringLimit: Int
  var verbose = false

  var memory: any TraceeMemoryReading { call.memory }

  /// The text of argument `index`, or nil when strace leaves it out (open's mode without
  /// O_CREAT, fcntl's argument for F_GETFD).
  func argument(at index: Int) -> String? {
    let value = call.arguments[index]
    let kind = call.syscall.args[index]
    // strace shows the arguments each futex operation uses, and none for FIOCLEX/FIONCLEX.
    if call.syscall.name == "futex" && index >= 3 {
      switch call.arguments[1] & 0x7f {
      case 1, 7, 8: return nil  // FUTEX_WAKE, FUTEX_UNLOCK_PI, FUTEX_TRYLOCK_PI: uaddr, op, val
      case 0, 6, 13: if index >= 4 { return nil }  // FUTEX_WAIT, FUTEX_LOCK_PI(2): and the timeout
      case 9, 10:  // FUTEX_WAIT_BITSET, FUTEX_WAKE_BITSET: no uaddr2; the bitset last
        if index == 4 { return nil }
        if index == 5 { return UInt32(truncatingIfNeeded: value) == .max ? "FUTEX_BITSET_MATCH_ANY" : hex(value & 0xffff_ffff) }
        if index == 3 && call.arguments[1] & 0x7f == 10 { return "NULL" }
      default: break
      }
    }
    if call.syscall.name == "ioctl" && index == 2 && [0x5450, 0x5451].contains(call.arguments[1] & 0xffff_ffff) { return nil }
    if call.syscall.name == "getdents64" && index == 1 { return directoryEntries(at: value) }
    if call.syscall.name == "clone3" && index == 0, let text = cloneArguments(at: value, size: Int(call.arguments[1])) { return text }
    if call.syscall.name == "sched_getaffinity" && index == 2 && hasSucceeded, let bytes = try? memory.readBytes(at: value, count: Int(call.result)) {
      return "[" + (0..<bytes.count * 8).filter { bytes[$0 / 8] & (1 << ($0 % 8)) != 0 }.map(String.init).joined(separator: " ") + "]"
    }
    // An int-sized socket option value, as strace shows it: `[1]`.
    if ["setsockopt", "getsockopt"].contains(call.syscall.name) && index == 3 && value != 0 {
      let length = call.syscall.name == "setsockopt" ? call.arguments[4] : ((try? memory.readBytes(at: call.arguments[4], count: 4)).map { UInt64($0.littleEndianInteger(at: 0, count: 4)) } ?? 0)
      if length == 4 && (call.syscall.name == "setsockopt" || hasSucceeded), let bytes = try? memory.readBytes(at: value, count: 4) {
        return "[\(Int32(truncatingIfNeeded: bytes.littleEndianInteger(at: 0, count: 4)))]"
      }
    }
    switch kind {
    case .creationMode(let flagsArg):
      return ConstantNames.opensWithMode(call.arguments[flagsArg])
        ? ConstantNames.mode(value) : nil
    case .fcntlArgument(let commandArg):
      let command = call.arguments[commandArg]
      if ConstantNames.fcntlWithoutArgument.contains(command) { return nil }
      switch command {
      case 2: return ConstantNames.flags(value, [(1, "FD_CLOEXEC")])
      case 4: return ConstantNames.openFlags(value)
      case 5, 6, 7, 36, 37, 38: return pointer(value)
      default: return String(Int32(truncatingIfNeeded: value))
      }
    default:
      return format(value, as: kind, at: index)
    }
  }

  func format(_ value: UInt64, as kind: ArgKind, at index: Int) -> String {
    switch kind {
    case .int, .fd, .pid: return String(Int32(truncatingIfNeeded: value))
    case .unsigned: return String(UInt32(truncatingIfNeeded: value))
    case .hex: return value == 0 ? "0" : hex(value)
    case .dirfd:
      let fd = Int32(truncatingIfNeeded: value)
      return fd == -100 ? "AT_FDCWD" : String(fd)
    case .size: return String(value)
    case .offset: return String(Int64(bitPattern: value))
    case .address: return pointer(value)
    case .uid:
      let id = Int32(truncatingIfNeeded: value)
      return id == -1 ? "-1" : String(UInt32(bitPattern: id))
    case .path: return string(at: value, limit: stringCaptureLimit)
    case .string: return string(at: value, limit: stringLimit)
    case .stringArray: return stringArray(at: value)
    case .environment: return environment(at: value)
    case .inBytes(let source): return bytes(at: value, count: try? call.byteCount(source))
    case .outBytes(let source):
      guard hasSucceeded else { return pointer(value) }
      let region = try? call.written(by: .outBytes(count: source), at: index).first
      // getrandom's bytes are random: strace writes them all in hex.
      if call.syscall.name == "getrandom", let shown = try? memory.readBytes(at: value, count: min(region?.count ?? 0, stringLimit)) {
        return "\"" + shown.map { "\\x" + (($0 < 16) ? "0" : "") + String($0, radix: 16) }.joined() + "\"" + ((region?.count ?? 0) > stringLimit ? "..." : "")
      }
      return bytes(at: value, count: region?.count ?? 0)
    case .outString:
      guard hasSucceeded else { return pointer(value) }
      return string(at: value, limit: stringCaptureLimit)
    case .inStruct(let layout), .inOutStruct(let layout):
      return structure(layout, at: value)
    case .outStruct(let layout):
      if call.syscall.name == "wait4" && index == 1 && hasSucceeded && call.result > 0 && value != 0,
        let bytes = try? memory.readBytes(at: value, count: 4)
      {
        return "[\(ConstantNames.waitStatus(UInt32(bytes.littleEndianInteger(at: 0, count: 4))))]"
      }
      return hasSucceeded ? structure(layout, at: value) : pointer(value)
    case .inSigset(let source): return sigset(at: value, size: try? call.byteCount(source))
    case .outSigset(let source):
      return hasSucceeded ? sigset(at: value, size: try? call.byteCount(source)) : pointer(value)
    case .inSockaddr(let lengthArg):
      return sockaddr(at: value, length: call.count(call.arguments[lengthArg]))
    case .outSockaddr(let lengthPointerArg):
      guard hasSucceeded, let length = try? call.byteCount(.valueResultArg(lengthPointerArg))
      else { return pointer(value) }
      return sockaddr(at: value, length: min(length, sockaddrStorageSize))
    case .inIovecs(let countArg):
      return iovecs(at: value, count: call.arguments[countArg], shownBytes: nil)
    case .outIovecs(let countArg):
      guard hasSucceeded else { return pointer(value) }
      return iovecs(at: value, count: call.arguments[countArg], shownBytes: Int(call.result))
    case .fdSet(let nfdsArg): return fdSet(at: value, nfds: call.arguments[nfdsArg])
    case .pollfds(let countArg): return pollfds(at: value, count: call.arguments[countArg])
    case .epollEvents: return epollEvents(at: value)
    case .epollOperation:
      return ConstantNames.enumeration(value, [1: "EPOLL_CTL_ADD", 2: "EPOLL_CTL_DEL", 3: "EPOLL_CTL_MOD"], unknown: "EPOLL_CTL_")
    case .inMsghdr, .outMsghdr, .inMmsghdrs, .outMmsghdrs: return pointer(value)
    case .openFlags: return ConstantNames.openFlags(value)
    case .descriptorFlags: return value == 0 ? "0" : ConstantNames.flags(value & 0xffff_ffff, ConstantNames.openFlagNames)
    case .creationMode, .mode: return ConstantNames.mode(value)
    case .accessMode: return ConstantNames.flags(value, ConstantNames.accessModeNames, zero: "F_OK")
    case .prot: return ConstantNames.flags(value, ConstantNames.protNames, zero: "PROT_NONE")
    case .mapFlags: return ConstantNames.mapFlags(value)
    case .mremapFlags: return ConstantNames.flags(value, ConstantNames.mremapFlagNames)
    case .whence: return ConstantNames.enumeration(value, ConstantNames.whenceNames, unknown: "SEEK_")
    case .named(let set): return ConstantNames.named(value, set)
    case .socketOption(let levelArg): return ConstantNames.socketOption(value, level: call.arguments[levelArg])
    case .flagSet(let set): return ConstantNames.flags(value, set)
    case .atFlags:
      // 0x200 is AT_EACCESS to faccessat, AT_REMOVEDIR to unlinkat; statx's sync mode
      // 0 is AT_STATX_SYNC_AS_STAT, which strace writes first.
      if call.syscall.name == "statx" && value & 0x6000 == 0 {
        return value == 0 ? "AT_STATX_SYNC_AS_STAT" : "AT_STATX_SYNC_AS_STAT|" + ConstantNames.flags(value, ConstantNames.atFlagNames)
      }
      return ConstantNames.flags(value, call.syscall.name.hasPrefix("faccessat") ? ConstantNames.accessAtFlagNames : ConstantNames.atFlagNames)
    case .signal: return ConstantNames.signal(value)
    case .sigprocmaskHow:
      return ConstantNames.enumeration(value, ConstantNames.sigprocmaskHowNames, unknown: "SIG_")
    case .clockID: return ConstantNames.enumeration(value, ConstantNames.clockNames, unknown: "CLOCK_")
    case .ioctlRequest:
      let request = IoctlRequest(value)
      return request.name ?? "\(hex(request.rawValue)) /* \(request.decoded) */"
    case .fcntlCommand: return ConstantNames.enumeration(value, ConstantNames.fcntlNames, unknown: "F_")
    case .fcntlArgument: return String(Int32(truncatingIfNeeded: value))
    case .futexOp: return ConstantNames.futexOp(value)
    case .madviseAdvice:
      return ConstantNames.enumeration(value, ConstantNames.madviseNames, unknown: "MADV_")
    case .socketDomain:
      return ConstantNames.enumeration(value, ConstantNames.socketDomainNames, unknown: "AF_")
    case .socketType: return ConstantNames.socketType(value)
    case .archPrctlCode:
      return ConstantNames.enumeration(value, ConstantNames.archPrctlNames, unknown: "ARCH_")
    case .prctlOption: return ConstantNames.enumeration(value, ConstantNames.prctlNames, unknown: "PR_")
    case .cloneFlags: return ConstantNames.cloneFlags(value)
    case .waitOptions: return ConstantNames.flags(value, ConstantNames.waitOptionNames)
    }
  }

  func pointer(_ value: UInt64) -> String { value == 0 ? "NULL" : hex(value) }

  /// A NUL-terminated string, quoted; `...` after the quote when cut at `limit`.
  func string(at address: UInt64, limit: Int) -> String {
    guard address != 0 else { return "NULL" }
    guard let string = try? memory.readCString(at: address, limit: limit) else {
      return pointer(address)
    }
    return quoted(string.bytes) + (string.terminated ? "" : "...")
  }

  /// The first `stringLimit` of `count` bytes, quoted.
  func bytes(at address: UInt64, count: Int?) -> String {
    guard address != 0 else { return "NULL" }
    guard let count, let shown = try? memory.readBytes(at: address, count: min(count, stringLimit))
    else { return pointer(address) }
    return quoted(shown) + (count > stringLimit ? "..." : "")
  }

  func stringArray(at address: UInt64) -> String {
    guard address != 0 else { return "NULL" }
    var items: [String] = []
    for index in 0..<UInt64(stringLimit) {
      guard let item = try? memory.readUInt64(at: address + index * 8) else {
        return pointer(address)
      }
      if item == 0 { return "[" + items.joined(separator: ", ") + "]" }
      items.append(string(at: item, limit: stringLimit))
    }
    return "[" + items.joined(separator: ", ") + ", ...]"
  }

  func environment(at address: UInt64) -> String {
    guard address != 0 else { return "NULL" }
    var count: UInt64 = 0
    var items: [String]? = []
    while count < 65536, let item = try? memory.readUInt64(at: address + count * 8), item != 0 {
      count += 1
      if verbose, items != nil {
        // (A variable whose text was not captured leaves the count.)
        if let text = try? memory.readBytes(at: item, count: 1), !text.isEmpty { items?.append(string(at: item, limit: stringLimit)) } else { items = nil }
      }
    }
    if verbose, let items { return "[" + items.joined(separator: ", ") + "]" }
    return "\(hex(address)) /* \(count) var\(count == 1 ? "" : "s") */"
  }

  /// clone3's `struct clone_args` as strace writes it, with what the call wrote back after
  /// `=>` (the child's tid at parent_tid).
  func cloneArguments(at address: UInt64, size: Int) -> String? {
    guard size >= 64, let bytes = try? memory.readBytes(at: address, count: min(size, 88)) else { return nil }
    func word(_ offset: Int) -> UInt64 { offset + 8 <= bytes.count ? bytes.littleEndianInteger(at: offset, count: 8) : 0 }
    let flags = word(0)
    var fields = ["flags=" + ConstantNames.cloneFlags(flags & ~0xff)]
    if flags & 0x1000 != 0 { fields.append("pidfd=\(hex(word(8)))") }  // CLONE_PIDFD
    if flags & (0x0100_0000 | 0x0020_0000) != 0 { fields.append("child_tid=\(hex(word(16)))") }  // CLONE_CHILD_SETTID, _CLEARTID
    if flags & 0x0010_0000 != 0 { fields.append("parent_tid=\(hex(word(24)))") }  // CLONE_PARENT_SETTID
    fields.append("exit_signal=" + (word(32) == 0 ? "0" : ConstantNames.signal(word(32))))
    fields.append("stack=" + (word(40) == 0 ? "NULL" : hex(word(40))))
    fields.append("stack_size=" + (word(48) == 0 ? "0" : hex(word(48))))
    if flags & 0x0008_0000 != 0 { fields.append("tls=\(hex(word(56)))") }  // CLONE_SETTLS
    var text = "{" + fields.joined(separator: ", ") + "}"
    if hasSucceeded && call.result > 0 && flags & 0x0010_0000 != 0 { text += " => {parent_tid=[\(call.result)]}" }
    return text
  }

  /// getdents64's buffer: `0x... /* 8 entries */`, or with `verbose` the entries.
  func directoryEntries(at address: UInt64) -> String {
    guard hasSucceeded, let bytes = try? memory.readBytes(at: address, count: Int(call.result)) else { return pointer(address) }
    var entries: [String] = []
    var offset = 0
    while offset + 19 <= bytes.count {
      let length = Int(bytes.littleEndianInteger(at: offset + 16, count: 2))
      guard length >= 19, offset + length <= bytes.count else { break }
      let types: [UInt8: String] = [0: "DT_UNKNOWN", 1: "DT_FIFO", 2: "DT_CHR", 4: "DT_DIR", 6: "DT_BLK", 8: "DT_REG", 10: "DT_LNK", 12: "DT_SOCK", 14: "DT_WHT"]
      let name = Array(bytes[(offset + 19)..<(offset + length)].prefix { $0 != 0 })
      entries.append(
        "{d_ino=\(bytes.littleEndianInteger(at: offset, count: 8)), d_off=\(Int64(bitPattern: bytes.littleEndianInteger(at: offset + 8, count: 8))), "
          + "d_reclen=\(length), d_type=\(types[bytes[offset + 18]] ?? String(bytes[offset + 18])), d_name=\(quoted(name))}")
      offset += length
    }
    if verbose { return "[" + entries.joined(separator: ", ") + "]" }
    return "\(hex(address)) /* \(entries.count) entr\(entries.count == 1 ? "y" : "ies") */"
  }

  func sigset(at address: UInt64, size: Int?) -> String {
    guard address != 0 else { return "NULL" }
    guard let size, let bytes = try? memory.readBytes(at: address, count: min(size, 128)) else {
      return pointer(address)
    }
    return ConstantNames.sigset(bytes)
  }
}

/// strace's quoting: printable ASCII as is, C escapes for `\t\n\v\f\r"\`, octal for the rest,
/// three digits only when an octal digit follows.
func quoted(_ bytes: [UInt8]) -> String {
  var text = "\""
  for (index, byte) in bytes.enumerated() {
    switch byte {
    case UInt8(ascii: "\""): text += "\\\""
    case UInt8(ascii: "\\"): text += "\\\\"
    case 0x09: text += "\\t"
    case 0x0a: text += "\\n"
    case 0x0b: text += "\\v"
    case 0x0c: text += "\\f"
    case 0x0d: text += "\\r"
    case 0x20...0x7e: text.append(Character(Unicode.Scalar(byte)))
    default:
      let next = index + 1 < bytes.count ? bytes[index + 1] : 0
      let octal = String(byte, radix: 8)
      let isOctalDigitNext = (UInt8(ascii: "0")...UInt8(ascii: "7")).contains(next)
      text += "\\" + (isOctalDigitNext ? String(repeating: "0", count: 3 - octal.count) : "") + octal
    }
  }
  return text + "\""
}
