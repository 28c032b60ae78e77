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
  /// entries listed instead of counted. `entryMemory` is memory as the call found it (the
  /// trace's inputs), for a length the call changed (`[128 => 16]`). `stackPointer` (rsp at
  /// entry) finds rt_sigreturn's
  /// mask: `rt_sigreturn({mask=[INT]})` when the trace captured it (older traces did not:
  /// `rt_sigreturn()`).
  public static func format(
    _ call: Syscall, arguments: [UInt64], result: Int64?, memory: some TraceeMemoryReading,
    stringLimit: Int = 32, verbose: Bool = false, stackPointer: UInt64? = nil, entryMemory: (any TraceeMemoryReading)? = nil
  ) -> String {
    let line = FormattedCall(
      call: CallState(syscall: call, arguments: arguments, result: result ?? 0, memory: memory),
      hasSucceeded: result.map { $0 >= 0 || $0 < -4095 } ?? false, stringLimit: stringLimit, verbose: verbose, entryMemory: entryMemory)
    // select's sets and timeout are printed as the call found them (it rewrites them).
    let atEntry = ["select", "pselect6"].contains(call.name) ? entryMemory.map { FormattedCall(call: CallState(syscall: call, arguments: arguments, result: result ?? 0, memory: $0), hasSucceeded: line.hasSucceeded, stringLimit: stringLimit, verbose: verbose) } : nil
    var arguments =
      switch call.name {
      case "clone": line.cloneArguments()
      case "prctl": line.prctlArguments()
      default: call.args.indices.compactMap { (atEntry ?? line).argument(at: $0) }
      }
    if call.name == "rt_sigreturn", let stackPointer, let mask = try? memory.readBytes(at: stackPointer + sigreturnMaskOffset, count: 8) {
      arguments = ["{mask=\(ConstantNames.sigset(mask))}"]
    }
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
    // PR_GET_DUMPABLE's result is named after it.
    if call.name == "prctl", line.call.arguments[0] == 3, let result, let name = ConstantNames.dumpableNames[UInt64(bitPattern: result)] {
      text += " (\(name))"
    }
    if ["select", "pselect6"].contains(call.name), let result, line.hasSucceeded {
      text += " (" + (result == 0 ? "Timeout" : line.selectResults(ready: Int(result))) + ")"
    }
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
  /// Memory as it was at the call's entry (the trace's inputs), for values the call
  /// changed: `[128 => 16]`.
  var entryMemory: (any TraceeMemoryReading)? = nil

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
    if call.syscall.name == "ioctl" && index == 2 && IoctlRequest(call.arguments[1]).takesNumber { return String(Int32(truncatingIfNeeded: value)) }
    if call.syscall.name == "getdents64" && index == 1 { return directoryEntries(at: value) }
    if call.syscall.name == "clone3" && index == 0, let text = cloneArguments(at: value, size: Int(call.arguments[1])) { return text }
    if call.syscall.name == "sched_getaffinity" && index == 2 && hasSucceeded, let bytes = try? memory.readBytes(at: value, count: Int(call.result)) {
      return "[" + (0..<bytes.count * 8).filter { bytes[$0 / 8] & (1 << ($0 % 8)) != 0 }.map(String.init).joined(separator: " ") + "]"
    }
    if ["setsockopt", "getsockopt"].contains(call.syscall.name) && index == 3 && value != 0, let text = socketOptionValue(at: value) { return text }
    if call.syscall.name == "capget" && index == 1 { return hasSucceeded ? capabilityData(at: value, header: call.arguments[0]) : pointer(value) }
    if call.syscall.name == "capset" && index == 1 { return capabilityData(at: value, header: call.arguments[0]) }
    // Group lists: `[0, 27]`, what getgroups returned (its address on failure).
    if call.syscall.name == "getgroups" && index == 1 && hasSucceeded { return groups(at: value, count: Int(call.result)) }
    if call.syscall.name == "setgroups" && index == 1 { return groups(at: value, count: Int(Int32(truncatingIfNeeded: call.arguments[0]))) }
    if call.syscall.name == "pkey_alloc" && index == 1 {
      return ConstantNames.flags(value, [(1, "PKEY_DISABLE_ACCESS"), (2, "PKEY_DISABLE_WRITE")])
    }
    if ["socket", "socketpair"].contains(call.syscall.name) && index == 2 { return ConstantNames.socketProtocol(value, domain: call.arguments[0]) }
    // A socket address length the call changed: `[128 => 16]`.
    if case .inOutStruct(.int32) = kind, hasSucceeded, value != 0, let entryMemory,
      let before = try? entryMemory.readBytes(at: value, count: 4), let after = try? memory.readBytes(at: value, count: 4), before != after
    {
      return "[\(Int32(truncatingIfNeeded: before.littleEndianInteger(at: 0, count: 4))) => \(Int32(truncatingIfNeeded: after.littleEndianInteger(at: 0, count: 4)))]"
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
      return fd == -100 ? ConstantNames.styled("-100", "AT_FDCWD") : String(fd)
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
        return ConstantNames.styledWhole(value) {
          value == 0 ? "AT_STATX_SYNC_AS_STAT" : "AT_STATX_SYNC_AS_STAT|" + ConstantNames.flags(value, ConstantNames.atFlagNames)
        }
      }
      return ConstantNames.flags(value, call.syscall.name.hasPrefix("faccessat") ? ConstantNames.accessAtFlagNames : ConstantNames.atFlagNames)
    case .signal: return ConstantNames.signal(value)
    case .sigprocmaskHow:
      return ConstantNames.enumeration(value, ConstantNames.sigprocmaskHowNames, unknown: "SIG_")
    case .clockID: return ConstantNames.enumeration(value, ConstantNames.clockNames, unknown: "CLOCK_")
    case .ioctlRequest:
      let request = IoctlRequest(value)
      return request.name.map { ConstantNames.styled(ConstantNames.rawHex(request.rawValue), $0) }
        ?? ConstantNames.unnamed(request.rawValue, request.decoded)
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

  /// clone's arguments as strace names them: `child_stack=NULL, flags=CLONE_VM|...|SIGCHLD`,
  /// then `parent_tid`, `tls` and `child_tidptr` when the flags use them (x86-64 order of
  /// the registers: flags, stack, parent_tid, child_tid, tls).
  func cloneArguments() -> [String] {
    let (flags, stack, parentTID, childTID, tls) = (call.arguments[0], call.arguments[1], call.arguments[2], call.arguments[3], call.arguments[4])
    var fields = ["child_stack=" + pointer(stack), "flags=" + ConstantNames.cloneFlags(flags)]
    if flags & 0x0010_1000 != 0 {  // CLONE_PARENT_SETTID, CLONE_PIDFD: what the call wrote there
      if hasSucceeded && call.result > 0 && flags & 0x0010_0000 != 0 {
        fields.append("parent_tid=[\(call.result)]")
      } else if hasSucceeded, flags & 0x1000 != 0, let bytes = try? memory.readBytes(at: parentTID, count: 4) {
        fields.append("parent_tid=[\(Int32(truncatingIfNeeded: bytes.littleEndianInteger(at: 0, count: 4)))]")
      } else {
        fields.append("parent_tid=" + pointer(parentTID))
      }
    }
    if flags & 0x0008_0000 != 0 { fields.append("tls=" + pointer(tls)) }  // CLONE_SETTLS
    if flags & 0x0120_0000 != 0 { fields.append("child_tidptr=" + pointer(childTID)) }  // CLONE_CHILD_SETTID, _CLEARTID
    return fields
  }

  /// What strace writes after a select's result: the descriptors each set has ready and
  /// the time left, `in [7], left {tv_sec=0, tv_nsec=999994439}` (its quirks too: a set
  /// with nothing ready after one with some still closes a bracket).
  func selectResults(ready: Int) -> String {
    let nfds = Int(min(call.arguments[0], 1 << 20))
    var text = ""
    var separator = ""
    var left = ready
    for set in 0..<3 where left > 0 {
      let address = call.arguments[set + 1]
      guard address != 0, let bytes = try? memory.readBytes(at: address, count: fdSetByteCount(nfds: UInt64(nfds))) else { continue }
      var first = true
      for fd in 0..<nfds where bytes[fd / 8] & (1 << (fd % 8)) != 0 {
        text += first ? "\(separator)\(["in", "out", "except"][set]) [\(fd)" : " \(fd)"
        first = false
        separator = ", "
        left -= 1
        if left == 0 { break }
      }
      if !text.isEmpty { text += "]" }
    }
    let timeout = call.arguments[4]
    if timeout != 0, let bytes = try? memory.readBytes(at: timeout, count: 16) {
      let fraction = call.syscall.name == "select" ? "tv_usec" : "tv_nsec"
      text += "\(separator)left {tv_sec=\(Int64(bitPattern: bytes.littleEndianInteger(at: 0, count: 8))), \(fraction)=\(Int64(bitPattern: bytes.littleEndianInteger(at: 8, count: 8)))}"
    }
    return text
  }

  /// `count` gids at `address`, as strace lists them (its address past NGROUPS_MAX).
  func groups(at address: UInt64, count: Int) -> String {
    guard address != 0 else { return "NULL" }
    guard (0...65536).contains(count), let bytes = try? memory.readBytes(at: address, count: count * 4) else { return pointer(address) }
    return "[" + (0..<count).map { index -> String in
      let gid = UInt32(truncatingIfNeeded: bytes.littleEndianInteger(at: index * 4, count: 4))
      return gid == .max ? "-1" : String(gid)
    }.joined(separator: ", ") + "]"
  }

  /// A socket option's value as strace shows the ones it decodes: an int `[1]`, struct
  /// linger, SO_PEERCRED's struct ucred, IP_ADD_MEMBERSHIP's struct ip_mreq; nil for the
  /// bytes (strace prints struct timeval options and strings as bytes too).
  func socketOptionValue(at address: UInt64) -> String? {
    let isSet = call.syscall.name == "setsockopt"
    guard isSet || hasSucceeded else { return nil }
    let length =
      isSet ? Int(call.arguments[4]) : ((try? memory.readBytes(at: call.arguments[4], count: 4)).map { Int($0.littleEndianInteger(at: 0, count: 4)) } ?? 0)
    let (level, option) = (call.arguments[1], call.arguments[2])
    func int(_ bytes: [UInt8], _ offset: Int) -> Int32 { Int32(truncatingIfNeeded: bytes.littleEndianInteger(at: offset, count: 4)) }
    func inetAddress(_ bytes: [UInt8], _ offset: Int) -> String { "inet_addr(\"" + bytes[offset..<offset + 4].map(String.init).joined(separator: ".") + "\")" }
    switch (level, option) {
    case (1, 13) where length >= 8:  // SO_LINGER
      guard let bytes = try? memory.readBytes(at: address, count: 8) else { return nil }
      return "{l_onoff=\(int(bytes, 0)), l_linger=\(int(bytes, 4))}"
    case (1, 17) where !isSet && length >= 12:  // SO_PEERCRED
      guard let bytes = try? memory.readBytes(at: address, count: 12) else { return nil }
      return "{pid=\(int(bytes, 0)), uid=\(UInt32(bitPattern: int(bytes, 4))), gid=\(UInt32(bitPattern: int(bytes, 8)))}"
    case (0, 35), (0, 36):  // IP_ADD_MEMBERSHIP, IP_DROP_MEMBERSHIP: struct ip_mreq (of an ip_mreqn too)
      guard length >= 8, let bytes = try? memory.readBytes(at: address, count: 8) else { return nil }
      return "{imr_multiaddr=\(inetAddress(bytes, 0)), imr_interface=\(inetAddress(bytes, 4))}"
    default:
      guard length == 4, let bytes = try? memory.readBytes(at: address, count: 4) else { return nil }
      return "[\(int(bytes, 0))]"
    }
  }

  /// prctl's arguments as strace prints each option's: only those the option uses, named
  /// (`prctl(PR_SET_NAME, "worker")`, `prctl(PR_SET_PDEATHSIG, SIGKILL)`), what a PR_GET_*
  /// option wrote (`prctl(PR_GET_NAME, "worker")`); an option strace does not decode shows
  /// its four arguments in hex.
  func prctlArguments() -> [String] {
    let a = call.arguments
    let option = ConstantNames.enumeration(a[0], ConstantNames.prctlNames, unknown: "PR_")
    func unsigned(_ value: UInt64) -> String { String(UInt32(truncatingIfNeeded: value)) }
    func hexadecimal(from index: Int) -> [String] { a[index..<5].map { $0 == 0 ? "0" : hex($0) } }
    /// An int the call wrote at arg2, `[value]`, or the address when it failed.
    func written(_ describe: (UInt64) -> String) -> String {
      guard hasSucceeded, let bytes = try? memory.readBytes(at: a[1], count: 4) else { return pointer(a[1]) }
      return "[" + describe(bytes.littleEndianInteger(at: 0, count: 4)) + "]"
    }
    let tsc: [UInt64: String] = [1: "PR_TSC_ENABLE", 2: "PR_TSC_SIGSEGV"]
    switch a[0] {
    case 7, 13, 21, 30, 31, 32, 3: return [option]  // GET_KEEPCAPS, _TIMING, _SECCOMP, _TIMERSLACK, TASK_PERF_EVENTS_*, GET_DUMPABLE
    case 9, 11, 19, 37: return [option, written { String($0) }]  // GET_FPEMU, _FPEXC, _ENDIAN, _CHILD_SUBREAPER
    case 2: return [option, written { $0 == 0 ? "0" : ConstantNames.signal($0) }]  // GET_PDEATHSIG
    case 25: return [option, written { ConstantNames.enumeration($0, tsc, unknown: "PR_TSC_") }]  // GET_TSC
    case 40:  // GET_TID_ADDRESS
      guard hasSucceeded, let bytes = try? memory.readBytes(at: a[1], count: 8) else { return [option, pointer(a[1])] }
      return [option, "[" + pointer(bytes.littleEndianInteger(at: 0, count: 8)) + "]"]
    case 16: return [option, hasSucceeded ? string(at: a[1], limit: 16) : pointer(a[1])]  // GET_NAME
    case 15:  // SET_NAME: TASK_COMM_LEN - 1 characters
      guard let name = try? memory.readCString(at: a[1], limit: 16) else { return [option, pointer(a[1])] }
      return [option, quoted(Array(name.bytes.prefix(15))) + (name.terminated && name.bytes.count < 15 ? "" : "...")]
    case 8, 10, 12, 14, 20, 36: return [option, unsigned(a[1])]  // SET_KEEPCAPS, _FPEMU, _FPEXC, _TIMING, _ENDIAN, _CHILD_SUBREAPER
    case 4: return [option, ConstantNames.enumeration(a[1], ConstantNames.dumpableNames, unknown: "SUID_DUMP_")]  // SET_DUMPABLE
    case 23, 24: return [option, ConstantNames.enumeration(a[1], ConstantNames.capabilityNames, unknown: "CAP_")]  // CAPBSET_READ, _DROP
    case 1: return [option, a[1] > 128 ? unsigned(a[1]) : (a[1] == 0 ? "0" : ConstantNames.signal(a[1]))]  // SET_PDEATHSIG
    case 26: return [option, ConstantNames.enumeration(a[1], tsc, unknown: "PR_TSC_")]  // SET_TSC
    case 29: return [option, String(Int64(bitPattern: a[1]))]  // SET_TIMERSLACK
    case 38, 41, 57: return [option, unsigned(a[1])] + hexadecimal(from: 2)  // SET_NO_NEW_PRIVS, _THP_DISABLE, _IO_FLUSHER
    case 22 where a[1] == 1: return [option, "SECCOMP_MODE_STRICT"]
    case 0x5961_6d61: return [option, Int32(truncatingIfNeeded: a[1]) == -1 ? "PR_SET_PTRACER_ANY" : String(Int32(truncatingIfNeeded: a[1]))]
    case 0x5356_4d41 where a[1] == 0:  // SET_VMA, PR_SET_VMA_ANON_NAME: start, size, name
      return [option, "PR_SET_VMA_ANON_NAME", pointer(a[2]), String(a[3]), string(at: a[4], limit: stringLimit)]
    case 47:  // CAP_AMBIENT
      let operations: [UInt64: String] = [1: "PR_CAP_AMBIENT_IS_SET", 2: "PR_CAP_AMBIENT_RAISE", 3: "PR_CAP_AMBIENT_LOWER", 4: "PR_CAP_AMBIENT_CLEAR_ALL"]
      let operation = ConstantNames.enumeration(a[1], operations, unknown: "PR_CAP_AMBIENT_")
      if (1...3).contains(a[1]) {
        return [option, operation, ConstantNames.enumeration(a[2], ConstantNames.capabilityNames, unknown: "CAP_")] + hexadecimal(from: 3)
      }
      return [option, operation] + hexadecimal(from: 2)
    default: return [option] + hexadecimal(from: 1)
    }
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
