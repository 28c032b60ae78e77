// What a call reads, captured at its syscall-entry stop for `rewind dump` and divergence
// checks. Nothing here is needed to replay; it shows and compares what the program asked for.

extension Syscall {
  /// Input memory worth capturing at entry: path strings (up to the NUL, at most 4096 bytes)
  /// and input buffers (write's buffer, writev's iovecs, a sockaddr, a setsockopt value), each
  /// capped at 64 KiB.
  ///
  /// Memory that cannot be read is left out rather than thrown: a bad pointer is the program's
  /// bug, and the call will fail with EFAULT, which the trace records.
  ///
  /// `stackPointer` (rsp at entry) places what a call reads from the stack: rt_sigreturn's
  /// signal mask, in the signal frame the handler returns through.
  public func inputRegions(
    arguments: [UInt64], memory: some TraceeMemoryReading, stackPointer: UInt64? = nil
  ) throws -> [MemoryRegion] {
    let call = CallState(syscall: self, arguments: arguments, result: 0, memory: memory)
    var regions: [MemoryRegion] = []
    for (index, kind) in args.enumerated() {
      regions += (try? call.read(by: kind, at: index)) ?? []
    }
    switch name {
    case "ioctl":
      let count = IoctlRequest(call.arguments[1]).readByteCount
      regions.append(MemoryRegion(address: call.arguments[2], count: count))
    case "prctl":
      switch call.arguments[0] {
      case 15:  // PR_SET_NAME: TASK_COMM_LEN bytes at most
        let name = call.arguments[1]
        if let string = try? memory.readCString(at: name, limit: 16) {
          regions.append(MemoryRegion(address: name, count: string.bytes.count + (string.terminated ? 1 : 0)))
        }
      case 0x5356_4d41 where call.arguments[1] == 0:  // PR_SET_VMA, PR_SET_VMA_ANON_NAME: the name
        if let region = try? call.stringRegion(at: call.arguments[4]) { regions.append(region) }
      default:
        break
      }
    case "rt_sigreturn":
      if let stackPointer { regions.append(MemoryRegion(address: stackPointer + sigreturnMaskOffset, count: 8)) }
    case "pselect6":
      // {const sigset_t *ss, size_t ss_len}
      let pointer = call.arguments[5]
      if pointer != 0, let pair = try? memory.readBytes(at: pointer, count: 16) {
        regions.append(MemoryRegion(address: pointer, count: 16))
        let size = min(call.count(pair.littleEndianInteger(at: 8, count: 8)), 128)
        regions.append(MemoryRegion(address: pair.littleEndianInteger(at: 0, count: 8), count: size))
      }
    default:
      break
    }
    return regions.filter { $0.address != 0 && $0.count > 0 }
  }
}

/// Where rt_sigreturn's signal mask is, from rsp at its entry: the handler's `ret` popped
/// the frame's return address, so rsp is at the frame's `struct ucontext`, whose uc_sigmask
/// follows uc_flags, uc_link, uc_stack (24 bytes) and uc_mcontext (256 bytes).
let sigreturnMaskOffset: UInt64 = 8 + 8 + 24 + 256

/// At most this much of one input buffer is captured.
let inputCaptureLimit = 64 * 1024
/// At most this much of one path or string is captured (PATH_MAX).
let stringCaptureLimit = 4096

extension CallState {
  func read(by kind: ArgKind, at index: Int) throws -> [MemoryRegion] {
    let pointer = arguments[index]
    guard pointer != 0 else { return [] }
    func capped(_ count: Int) -> [MemoryRegion] {
      [MemoryRegion(address: pointer, count: min(count, inputCaptureLimit))]
    }
    switch kind {
    case .path, .string:
      return [try stringRegion(at: pointer)]
    case .inBytes(let source), .inSigset(let source):
      return capped(try byteCount(source))
    case .inStruct(let layout), .inOutStruct(let layout):
      return capped(layout.byteCount)
    case .inSockaddr(let lengthArg):
      return capped(min(count(arguments[lengthArg]), sockaddrStorageSize))
    case .fdSet(let nfdsArg):
      return capped(fdSetByteCount(nfds: arguments[nfdsArg]))
    case .pollfds(let countArg):
      return capped(count(arguments[countArg]) * 8)
    case .inIovecs(let countArg):
      return try sentIovecRegions(at: pointer, count: arguments[countArg])
    case .outIovecs(let countArg):
      return capped(count(arguments[countArg]) * 16)
    case .inMsghdr:
      return try sentMessageRegions(msghdr: pointer)
    case .outMsghdr:
      let header = try memory.readBytes(at: pointer, count: 56)
      let iovecCount = count(header.littleEndianInteger(at: 24, count: 8))
      return [
        MemoryRegion(address: pointer, count: 56),
        MemoryRegion(
          address: header.littleEndianInteger(at: 16, count: 8),
          count: min(iovecCount * 16, inputCaptureLimit)),
      ]
    case .inMmsghdrs(let countArg):
      let messages = min(arguments[countArg], 1024)  // UIO_MAXIOV caps vlen
      return try [MemoryRegion(address: pointer, count: Int(messages * mmsghdrSize))]
        + (0..<messages).flatMap { try sentMessageRegions(msghdr: pointer + $0 * mmsghdrSize) }
    case .outMmsghdrs(let countArg):
      return capped(Int(min(arguments[countArg], 1024) * mmsghdrSize))
    case .stringArray, .environment:
      return try stringArrayRegions(at: pointer, includingStrings: kind == .stringArray)
    default:
      return []
    }
  }

  func stringRegion(at pointer: UInt64) throws -> MemoryRegion {
    let string = try memory.readCString(at: pointer, limit: stringCaptureLimit)
    return MemoryRegion(address: pointer, count: string.bytes.count + (string.terminated ? 1 : 0))
  }

  /// The iovec array and the start of each buffer it names.
  func sentIovecRegions(at array: UInt64, count: UInt64) throws -> [MemoryRegion] {
    let entries = try readIovecs(at: array, count: count)
    return [MemoryRegion(address: array, count: entries.count * 16)]
      + entries.map { MemoryRegion(address: $0.address, count: min($0.count, inputCaptureLimit)) }
  }

  /// A sendmsg header and what it points to: name, iovecs and their buffers, control data.
  func sentMessageRegions(msghdr: UInt64) throws -> [MemoryRegion] {
    let header = try memory.readBytes(at: msghdr, count: 56)
    let nameLength = Int(header.littleEndianInteger(at: 8, count: 4))
    let controlLength = count(header.littleEndianInteger(at: 40, count: 8))
    return [
      MemoryRegion(address: msghdr, count: 56),
      MemoryRegion(
        address: header.littleEndianInteger(at: 0, count: 8),
        count: min(nameLength, sockaddrStorageSize)),
      MemoryRegion(
        address: header.littleEndianInteger(at: 32, count: 8),
        count: min(controlLength, inputCaptureLimit)),
    ]
      + (try sentIovecRegions(
        at: header.littleEndianInteger(at: 16, count: 8),
        count: header.littleEndianInteger(at: 24, count: 8)))
  }

  /// A NULL-terminated pointer array (argv), and each string when asked.
  func stringArrayRegions(at array: UInt64, includingStrings: Bool) throws -> [MemoryRegion] {
    var regions: [MemoryRegion] = []
    var pointers = 0
    while pointers < stringCaptureLimit {
      let string = try memory.readUInt64(at: array + UInt64(pointers) * 8)
      pointers += 1
      if string == 0 { break }
      if includingStrings { regions.append(try stringRegion(at: string)) }
    }
    return [MemoryRegion(address: array, count: pointers * 8)] + regions
  }
}
