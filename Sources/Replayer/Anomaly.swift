import Syscalls
import TraceFormat

/// An unusual result given to one recorded system call (`rewind inject`): what the call
/// returns instead, and what it writes to the program's memory instead.
public enum Anomaly: Equatable, Sendable, CustomStringConvertible {
  /// The call fails with this errno (any call that returns).
  case error(Int)
  /// A read or write of fewer bytes than recorded: only the first N reach the buffer.
  case short(Int)
  /// A stat-family result describing another kind of file.
  case fileType(FileType)
  /// poll, select, epoll_wait: nothing became ready before the timeout.
  case timeout
  /// A clock read returns a time this many seconds later (or earlier, when negative).
  case clockShift(Int64)

  public enum FileType: String, CaseIterable, Sendable {
    case dir, chr, blk, fifo, sock, lnk, reg
    /// Its S_IFMT bits.
    var modeBits: UInt32 {
      switch self {
      case .dir: 0o040000
      case .chr: 0o020000
      case .blk: 0o060000
      case .fifo: 0o010000
      case .sock: 0o140000
      case .lnk: 0o120000
      case .reg: 0o100000
      }
    }
  }

  /// Parses `--anomaly`: `short:N`, `filetype:TYPE`, `timeout`, `clock:+N`/`clock:-N`, or a
  /// named error of the CrashSimulator set (`exdev`, `enospc`, `eintr`, `eagain`,
  /// `econnreset`, `enomem`).
  public init(parsing text: String) throws(AnomalyError) {
    let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
    let name = parts.first ?? "", value = parts.count > 1 ? parts[1] : nil
    switch name {
    case "short":
      guard let value, let count = Int(value), count >= 0 else { throw AnomalyError("short needs a byte count: short:10") }
      self = .short(count)
    case "filetype":
      let type = value ?? "dir"
      guard let kind = FileType(rawValue: type) else {
        throw AnomalyError("filetype:\(type) is not a file type; give one of \(FileType.allCases.map(\.rawValue).joined(separator: ", "))")
      }
      self = .fileType(kind)
    case "timeout":
      self = .timeout
    case "clock":
      guard let value, let seconds = Int64(value), seconds != 0 else {
        throw AnomalyError("clock needs a shift in seconds: clock:-3600 (backwards) or clock:+60")
      }
      self = .clockShift(seconds)
    default:
      if let errno = Self.namedErrors[name] { self = .error(errno); return }
      throw AnomalyError(
        "'\(text)' is not an anomaly rewind knows; give short:N, filetype:TYPE, timeout, clock:±SECONDS, "
          + Self.namedErrors.keys.sorted().joined(separator: ", ") + " (or --errno NAME for any error)")
    }
  }

  static let namedErrors = ["exdev": 18, "enospc": 28, "eintr": 4, "eagain": 11, "econnreset": 104, "enomem": 12]

  public var description: String {
    switch self {
    case .error(let errno): ErrnoNames.lookup(errno)?.name ?? "errno \(errno)"
    case .short(let count): "short:\(count)"
    case .fileType(let type): "filetype:\(type.rawValue)"
    case .timeout: "timeout"
    case .clockShift(let seconds): "clock:\(seconds > 0 ? "+" : "")\(seconds)"
    }
  }

  /// The calls each anomaly fits, by name. `.error` fits every call that returns; the
  /// named errors fit the calls that can really fail that way.
  static let shortReads: Set<String> = ["read", "pread64", "readv", "preadv", "preadv2", "recvfrom"]
  static let shortWrites: Set<String> = ["write", "pwrite64", "writev", "pwritev", "pwritev2", "sendto", "sendmsg", "sendfile", "copy_file_range", "splice"]
  static let stats: Set<String> = ["stat", "lstat", "fstat", "newfstatat", "statx"]
  static let waits: Set<String> = ["poll", "ppoll", "select", "pselect6", "epoll_wait", "epoll_pwait", "epoll_pwait2"]
  static let clocks: Set<String> = ["clock_gettime", "gettimeofday", "time"]
  static let errorCalls: [Int: Set<String>] = [
    18: ["rename", "renameat", "renameat2", "link", "linkat"],
    28: ["write", "pwrite64", "writev", "pwritev", "pwritev2", "fsync", "fdatasync", "fallocate", "ftruncate", "open", "openat", "creat", "mkdir", "mkdirat"],
    4: ["close", "read", "write", "readv", "writev", "accept", "accept4", "connect", "recvfrom", "sendto", "recvmsg", "sendmsg", "poll", "ppoll",
        "select", "pselect6", "epoll_wait", "epoll_pwait", "nanosleep", "clock_nanosleep", "wait4", "waitid", "flock", "futex", "pause", "rt_sigtimedwait"],
    11: ["read", "write", "readv", "writev", "recvfrom", "sendto", "recvmsg", "sendmsg", "accept", "accept4", "futex", "fork", "clone", "clone3"],
    104: ["connect", "recvfrom", "sendto", "recvmsg", "sendmsg"],
    12: ["mmap", "mremap"],
  ]
  /// Calls whose result cannot be changed: those `--inject` refuses, and those whose success
  /// replay follows with events of their own (a new program, a vfork child).
  static let unchangeable = InjectionRule.refused.union(["execve", "execveat", "vfork"])

  /// Why this anomaly does not fit `event`, or nil when it does.
  public func misfit(for event: SyscallEvent) -> String? {
    guard let call = SyscallTable.syscall(numbered: event.number) else { return "the trace holds an unknown call (\(event.number))" }
    if Self.unchangeable.contains(call.name) { return "\(call.name) never returns to the code that called it: its result cannot be changed" }
    if event.isUnfinished { return "this \(call.name) never returned in the recording" }
    if (-515 ... -512).contains(event.result) { return "this \(call.name) was interrupted by a signal and restarted" }
    let failed = (-4095 ... -1).contains(event.result)
    switch self {
    case .error(let errno):
      if let calls = Self.namedErrors.values.contains(errno) ? Self.errorCalls[errno] : nil, !calls.contains(call.name),
        let name = Self.namedErrors.first(where: { $0.value == errno })?.key
      {
        return "\(name) fits \(calls.sorted().joined(separator: ", ")), not \(call.name) (use --errno to force any error)"
      }
      let arguments = event.entryRegisters.syscallArguments
      if errno == 28, call.name == "open" || call.name == "openat", (call.name == "open" ? arguments[1] : arguments[2]) & 0o100 == 0 {
        return "an \(call.name) without O_CREAT allocates nothing: it cannot run out of space (use --errno ENOSPC to force it)"
      }
      return nil
    case .short(let count):
      guard Self.shortReads.contains(call.name) || Self.shortWrites.contains(call.name) else {
        return "short counts fit reads and writes (\((Self.shortReads.union(Self.shortWrites)).sorted().joined(separator: ", "))), not \(call.name)"
      }
      guard !failed, event.result > Int64(count) else {
        return "this \(call.name) moved \(failed ? "nothing (it failed)" : "\(event.result) bytes"): a short count must be less"
      }
      return nil
    case .fileType:
      guard Self.stats.contains(call.name) else { return "filetype fits \(Self.stats.sorted().joined(separator: ", ")), not \(call.name)" }
      return failed ? "this \(call.name) failed: there is no file type to change" : nil
    case .timeout:
      guard Self.waits.contains(call.name) else { return "timeout fits \(Self.waits.sorted().joined(separator: ", ")), not \(call.name)" }
      return event.result > 0 ? nil : "this \(call.name) returned \(event.result): nothing to time out"
    case .clockShift:
      guard Self.clocks.contains(call.name) else { return "clock fits \(Self.clocks.sorted().joined(separator: ", ")), not \(call.name)" }
      return failed ? "this \(call.name) failed" : nil
    }
  }

  /// The anomalies of the CrashSimulator set that fit `event` (with a representative
  /// parameter), for `rewind inject --list`.
  public static func fitting(_ event: SyscallEvent) -> [Anomaly] {
    var candidates: [Anomaly] = [.short(1), .fileType(.dir), .timeout, .clockShift(-3600)]
    candidates += namedErrors.values.sorted().map { .error($0) }
    return candidates.filter { $0.misfit(for: event) == nil }
  }

  /// `event` as this anomaly changes it: its result, and its outputs.
  func applied(to event: SyscallEvent) -> SyscallEvent {
    var changed = event
    changed.injected = true
    let name = SyscallTable.syscall(numbered: event.number)?.name ?? ""
    let arguments = event.entryRegisters.syscallArguments
    switch self {
    case .error(let errno):
      changed.result = -Int64(errno)
      changed.outputs = []
      changed.echoFD = nil
      changed.passedThrough = nil
    case .short(let count):
      changed.result = Int64(count)
      if Self.shortReads.contains(name) {
        // The data reach the buffers in order; only the first `count` bytes arrive.
        var left = count
        changed.outputs = event.outputs.compactMap { chunk in
          if name == "recvfrom" && chunk.address != arguments[1] { return chunk }  // the sender's address
          guard left > 0 else { return nil }
          let kept = MemoryChunk(address: chunk.address, bytes: Array(chunk.bytes.prefix(left)))
          left -= kept.bytes.count
          return kept
        }
      }
      if let passed = event.passedThrough { changed.passedThrough = Array(passed.prefix(count)) }
    case .fileType(let type):
      let (bufferIndex, modeOffset, modeSize) = name == "statx" ? (4, 28, 2) : name == "newfstatat" ? (2, 24, 4) : (1, 24, 4)
      changed.outputs = event.outputs.map { chunk in
        guard chunk.address == arguments[bufferIndex], chunk.bytes.count >= modeOffset + modeSize else { return chunk }
        var bytes = chunk.bytes
        let mode = UInt32(bytes[modeOffset]) | UInt32(bytes[modeOffset + 1]) << 8
        let newMode = (mode & 0o7777) | type.modeBits
        bytes[modeOffset] = UInt8(truncatingIfNeeded: newMode)
        bytes[modeOffset + 1] = UInt8(truncatingIfNeeded: newMode >> 8)
        return MemoryChunk(address: chunk.address, bytes: bytes)
      }
    case .timeout:
      changed.result = 0
      switch name {
      case "poll", "ppoll":
        // Every revents (bytes 6-7 of each struct pollfd) is 0.
        changed.outputs = event.outputs.map { chunk in
          guard chunk.address == arguments[0] else { return chunk }
          var bytes = chunk.bytes
          for entry in stride(from: 0, to: bytes.count - 7, by: 8) { bytes[entry + 6] = 0; bytes[entry + 7] = 0 }
          return MemoryChunk(address: chunk.address, bytes: bytes)
        }
      case "select", "pselect6":
        // The fd sets come back empty; the remaining timeout (if written) is kept.
        let sets = Set(arguments[1...3].filter { $0 != 0 })
        changed.outputs = event.outputs.map { chunk in
          sets.contains(chunk.address) ? MemoryChunk(address: chunk.address, bytes: Array(repeating: 0, count: chunk.bytes.count)) : chunk
        }
      default:
        changed.outputs = []
      }
    case .clockShift(let seconds):
      if name == "time" { changed.result = event.result + seconds }
      let target = name == "clock_gettime" ? arguments[1] : arguments[0]
      changed.outputs = event.outputs.map { chunk in
        guard chunk.address == target, chunk.bytes.count >= 8 else { return chunk }
        var bytes = chunk.bytes
        bytes.withUnsafeMutableBytes { $0.storeBytes(of: $0.loadUnaligned(as: Int64.self) + seconds, as: Int64.self) }  // tv_sec
        return MemoryChunk(address: chunk.address, bytes: bytes)
      }
    }
    return changed
  }
}

public struct AnomalyError: Error, Sendable, CustomStringConvertible {
  public var description: String
  init(_ description: String) { self.description = description }
}

/// One change to make in a replay: `anomaly` at trace event `eventIndex`.
public struct Injection: Sendable {
  public var eventIndex: UInt64
  public var anomaly: Anomaly
  public init(eventIndex: UInt64, anomaly: Anomaly) {
    self.eventIndex = eventIndex
    self.anomaly = anomaly
  }
}
