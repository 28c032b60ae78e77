// What a call wrote, computed at its syscall-exit stop. The row's argument kinds say most of it;
// calls whose outputs depend on an operation code (ioctl, fcntl, prctl, futex) or on whether a
// signal interrupted them are described by name in `specialWrittenRegions`.

extension Syscall {
  /// Memory the call wrote, computed at the syscall-exit stop from the entry arguments, the
  /// result (negative is -errno: then usually nothing was written) and, for indirect layouts
  /// (iovec arrays, msghdr, fd_sets, pollfds, value-result lengths), the tracee memory.
  ///
  /// NULL pointers produce no region. Regions never exceed what the kernel could have written:
  /// a returned count is capped by the buffer's size argument, a socket address by
  /// `sizeof(struct sockaddr_storage)`.
  ///
  /// Throws `SyscallTableError.unknownIoctl` for a successful ioctl whose output is unknown,
  /// `.unsupported` for a call the table refuses, and the reader's error when an indirect
  /// layout (an iovec array, a msghdr) cannot be read.
  public func writtenRegions(
    arguments: [UInt64], result: Int64, memory: some TraceeMemoryReading
  ) throws -> [MemoryRegion] {
    if case .unsupported(let reason) = policy {
      throw SyscallTableError.unsupported(name: name, reason: reason)
    }
    let call = CallState(syscall: self, arguments: arguments, result: result, memory: memory)
    let regions = try specialWrittenRegions(call) ?? genericWrittenRegions(call)
    return regions.filter { $0.address != 0 && $0.count > 0 }
  }

  private func genericWrittenRegions(_ call: CallState) throws -> [MemoryRegion] {
    guard call.result >= 0 else { return [] }
    var regions: [MemoryRegion] = []
    for (index, kind) in args.enumerated() {
      regions += try call.written(by: kind, at: index)
    }
    return regions
  }

  /// Outputs that depend on more than the argument kinds; nil means "use the kinds".
  private func specialWrittenRegions(_ call: CallState) throws -> [MemoryRegion]? {
    let arg = call.arguments
    let succeeded = call.result >= 0
    switch name {
    case "nanosleep":
      return call.wasInterrupted ? [MemoryRegion(address: arg[1], count: 16)] : []
    case "clock_nanosleep":
      let isAbsolute = arg[1] & 1 != 0  // TIMER_ABSTIME: no remaining time to report
      return call.wasInterrupted && !isAbsolute ? [MemoryRegion(address: arg[3], count: 16)] : []
    case "select", "pselect6", "ppoll":
      // The kernel updates the timeout even when a signal interrupts the wait, and writes
      // poll's revents back whatever the wait's outcome.
      guard !succeeded else { return nil }
      let timeoutIndex = name == "ppoll" ? 2 : 4
      let size = name == "select" ? StructKind.timeval.byteCount : StructKind.timespec.byteCount
      guard call.wasInterrupted else { return [] }
      let revents = name == "ppoll" ? try call.written(by: .pollfds(countArg: 1), at: 0) : []
      return [MemoryRegion(address: arg[timeoutIndex], count: size)] + revents
    case "poll":
      guard !succeeded else { return nil }
      return call.wasInterrupted ? try call.written(by: .pollfds(countArg: 1), at: 0) : []
    case "wait4":
      // WNOHANG with no child ready returns 0 and writes nothing.
      return call.result > 0 ? nil : []
    case "getgroups":
      return arg[0] == 0 ? [] : nil  // size 0 only counts the groups
    case "syslog":
      // SYSLOG_ACTION_READ, _READ_ALL, _READ_CLEAR; the other actions return sizes or 0.
      guard succeeded, (2...4).contains(arg[0]) else { return [] }
      return [MemoryRegion(address: arg[1], count: min(Int(call.result), call.count(arg[2])))]
    case "sched_getattr":
      let kernelSize = 56  // sizeof(struct sched_attr) in Linux 6.x
      return succeeded ? [MemoryRegion(address: arg[1], count: min(call.count(arg[2]), kernelSize))] : []
    case "capget":
      return try capgetWrittenRegions(call)
    case "ioctl":
      guard succeeded else { return [] }
      let request = IoctlRequest(arg[1])
      guard let count = request.writtenByteCount else {
        throw SyscallTableError.unknownIoctl(
          request: request.rawValue, fd: Int(Int32(truncatingIfNeeded: arg[0])))
      }
      return [MemoryRegion(address: arg[2], count: count)]
    case "shmctl":
      guard succeeded else { return [] }
      switch arg[1] & 0xff {  // without IPC_64
      case 2, 13, 15: return [MemoryRegion(address: arg[2], count: 112)]  // IPC_STAT, SHM_STAT(_ANY): shmid_ds
      case 3: return [MemoryRegion(address: arg[2], count: 72)]  // IPC_INFO: shminfo
      case 14: return [MemoryRegion(address: arg[2], count: 48)]  // SHM_INFO: shm_info
      default: return []
      }
    case "fcntl":
      guard succeeded else { return [] }
      switch arg[1] {
      case 5, 36: return [MemoryRegion(address: arg[2], count: StructKind.flock.byteCount)]  // F_GETLK, F_OFD_GETLK
      case 16: return [MemoryRegion(address: arg[2], count: 8)]  // F_GETOWN_EX: struct f_owner_ex
      default: return []
      }
    case "prctl":
      guard succeeded else { return [] }
      switch arg[0] {
      case 16: return [MemoryRegion(address: arg[1], count: 16)]  // PR_GET_NAME: TASK_COMM_LEN
      case 40: return [MemoryRegion(address: arg[1], count: 8)]  // PR_GET_TID_ADDRESS
      // PR_GET_PDEATHSIG, _UNALIGN, _FPEMU, _FPEXC, _ENDIAN, _TSC, _CHILD_SUBREAPER: an int.
      case 2, 5, 9, 11, 19, 25, 37: return [MemoryRegion(address: arg[1], count: 4)]
      default: return []
      }
    case "arch_prctl":
      guard succeeded else { return [] }
      switch arg[0] {
      // ARCH_GET_FS, ARCH_GET_GS, ARCH_GET_XCOMP_SUPP, _XCOMP_PERM, _XCOMP_GUEST_PERM.
      case 0x1003, 0x1004, 0x1021, 0x1022, 0x1024: return [MemoryRegion(address: arg[1], count: 8)]
      default: return []
      }
    case "futex":
      guard succeeded else { return [] }
      switch arg[1] & 0x7f {  // without FUTEX_PRIVATE_FLAG and FUTEX_CLOCK_REALTIME
      case 5, 11, 12: return [MemoryRegion(address: arg[4], count: 4)]  // WAKE_OP, *REQUEUE_PI: uaddr2
      case 6, 7, 8, 13: return [MemoryRegion(address: arg[0], count: 4)]  // LOCK_PI, UNLOCK_PI, TRYLOCK_PI, LOCK_PI2
      default: return []
      }
    default:
      return nil
    }
  }

  private func capgetWrittenRegions(_ call: CallState) throws -> [MemoryRegion] {
    let header = call.arguments[0]
    // An unknown version fails with EINVAL after the kernel stored the version it prefers.
    if call.result == -22 { return [MemoryRegion(address: header, count: 4)] }
    guard call.result >= 0, header != 0 else { return [] }
    let version = try call.memory.readUInt32(at: header)
    let structCount = version == 0x1998_0330 ? 1 : 2  // _LINUX_CAPABILITY_VERSION_1: 32 bits
    return [MemoryRegion(address: call.arguments[1], count: 12 * structCount)]
  }
}

/// One call at its exit stop, with the helpers that turn argument kinds into regions.
struct CallState {
  let syscall: Syscall
  /// Always six values: rows may omit trailing arguments the caller did not pass.
  let arguments: [UInt64]
  let result: Int64
  let memory: any TraceeMemoryReading

  init(syscall: Syscall, arguments: [UInt64], result: Int64, memory: any TraceeMemoryReading) {
    self.syscall = syscall
    self.arguments = arguments + [UInt64](repeating: 0, count: max(0, 6 - arguments.count))
    self.result = result
    self.memory = memory
  }

  /// EINTR, or one of the kernel's restart codes a tracer sees at the exit stop
  /// (ERESTARTSYS 512, ERESTARTNOINTR 513, ERESTARTNOHAND 514, ERESTART_RESTARTBLOCK 516).
  var wasInterrupted: Bool { [-4, -512, -513, -514, -516].contains(result) }

  /// A size argument as a byte count, capped so a garbage size cannot ask for terabytes.
  func count(_ value: UInt64) -> Int { Int(min(value, 1 << 40)) }

  func byteCount(_ source: SizeSource) throws -> Int {
    switch source {
    case .fixed(let count): return count
    case .arg(let index): return count(arguments[index])
    case .returnValue: return result > 0 ? Int(result) : 0
    case .valueResultArg(let index):
      return arguments[index] == 0 ? 0 : Int(try memory.readUInt32(at: arguments[index]))
    case .argElements(let index, let elementSize): return count(arguments[index]) * elementSize
    case .returnValueElements(let elementSize): return result > 0 ? Int(result) * elementSize : 0
    case .pagesOfArg(let index): return (count(arguments[index]) + 4095) / 4096
    }
  }

  func written(by kind: ArgKind, at index: Int) throws -> [MemoryRegion] {
    let pointer = arguments[index]
    guard pointer != 0 else { return [] }
    switch kind {
    case .outBytes(let source), .outString(let source):
      var count = try byteCount(source)
      // MSG_TRUNC makes recvfrom return the datagram's length, which may exceed the buffer.
      if index + 1 < syscall.args.count, [.size, .unsigned].contains(syscall.args[index + 1]) {
        count = min(count, self.count(arguments[index + 1]))
      }
      return [MemoryRegion(address: pointer, count: count)]
    case .outStruct(let layout), .inOutStruct(let layout):
      return [MemoryRegion(address: pointer, count: layout.byteCount)]
    case .outSigset(let source):
      return [MemoryRegion(address: pointer, count: try byteCount(source))]
    case .outSockaddr(let lengthPointerArg):
      let length = try byteCount(.valueResultArg(lengthPointerArg))
      return [MemoryRegion(address: pointer, count: min(length, sockaddrStorageSize))]
    case .outIovecs(let countArg):
      return try iovecRegions(at: pointer, count: arguments[countArg], byteCount: Int(result))
    case .fdSet(let nfdsArg):
      return [MemoryRegion(address: pointer, count: fdSetByteCount(nfds: arguments[nfdsArg]))]
    case .epollEvents:
      return result > 0 ? [MemoryRegion(address: pointer, count: Int(result) * 12)] : []
    case .pollfds(let countArg):
      // Only `revents` (offset 6 of each 8-byte pollfd) is written back.
      return (0..<min(arguments[countArg], 1 << 20)).map {
        MemoryRegion(address: pointer + $0 * 8 + 6, count: 2)
      }
    case .outMsghdr:
      return try receivedMessageRegions(msghdr: pointer, byteCount: Int(result))
    case .outMmsghdrs:
      return try (0..<UInt64(result)).flatMap { message -> [MemoryRegion] in
        let entry = pointer + message * mmsghdrSize
        let length = Int(try memory.readUInt32(at: entry + 56))
        return try receivedMessageRegions(msghdr: entry, byteCount: length)
          + [MemoryRegion(address: entry + 56, count: 4)]
      }
    case .inMmsghdrs:
      return (0..<UInt64(result)).map {
        MemoryRegion(address: pointer + $0 * mmsghdrSize + 56, count: 4)  // msg_len
      }
    default:
      return []
    }
  }

  /// `byteCount` bytes scattered over the iovec array, in order, as readv fills it.
  func iovecRegions(at array: UInt64, count: UInt64, byteCount: Int) throws -> [MemoryRegion] {
    guard array != 0, count > 0, byteCount > 0 else { return [] }
    let entries = try readIovecs(at: array, count: count)
    var remaining = byteCount
    var regions: [MemoryRegion] = []
    for entry in entries where remaining > 0 {
      let take = min(entry.count, remaining)
      regions.append(MemoryRegion(address: entry.address, count: take))
      remaining -= take
    }
    return regions
  }

  func readIovecs(at array: UInt64, count: UInt64) throws -> [MemoryRegion] {
    guard count <= 1024 else {  // UIO_MAXIOV: the kernel fails larger arrays with EINVAL
      throw SyscallTableError.invalidArguments(
        name: syscall.name, problem: "\(count) iovecs is more than the kernel's limit of 1024")
    }
    let bytes = try memory.readBytes(at: array, count: Int(count) * 16)
    return (0..<Int(count)).map {
      MemoryRegion(
        address: bytes.littleEndianInteger(at: $0 * 16, count: 8),
        count: self.count(bytes.littleEndianInteger(at: $0 * 16 + 8, count: 8)))
    }
  }

  /// What recvmsg wrote through one `struct msghdr` (56 bytes: name 0, namelen 8, iov 16,
  /// iovlen 24, control 32, controllen 40, flags 48), given the bytes it received.
  func receivedMessageRegions(msghdr: UInt64, byteCount: Int) throws -> [MemoryRegion] {
    let header = try memory.readBytes(at: msghdr, count: 56)
    let name = header.littleEndianInteger(at: 0, count: 8)
    let control = header.littleEndianInteger(at: 32, count: 8)
    var regions = try iovecRegions(
      at: header.littleEndianInteger(at: 16, count: 8),
      count: header.littleEndianInteger(at: 24, count: 8), byteCount: byteCount)
    if name != 0 {
      let nameLength = Int(header.littleEndianInteger(at: 8, count: 4))
      regions.append(MemoryRegion(address: name, count: min(nameLength, sockaddrStorageSize)))
      regions.append(MemoryRegion(address: msghdr + 8, count: 4))
    }
    if control != 0 {
      let controlLength = count(header.littleEndianInteger(at: 40, count: 8))
      regions.append(MemoryRegion(address: control, count: controlLength))
    }
    regions.append(MemoryRegion(address: msghdr + 40, count: 8))  // msg_controllen
    regions.append(MemoryRegion(address: msghdr + 48, count: 4))  // msg_flags
    return regions
  }
}

/// `sizeof(struct sockaddr_storage)`: no address the kernel returns is longer.
let sockaddrStorageSize = 128
/// `sizeof(struct mmsghdr)`: a msghdr, `unsigned msg_len`, padding.
let mmsghdrSize: UInt64 = 64

/// The kernel copies fd_sets in whole longs: DIV_ROUND_UP(nfds, 64) * 8 bytes.
func fdSetByteCount(nfds: UInt64) -> Int {
  Int((min(nfds, 1 << 20) + 63) / 64 * 8)
}
