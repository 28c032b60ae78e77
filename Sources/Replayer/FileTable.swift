import Glibc
import Syscalls
import TraceFormat

/// The open file descriptions of each recorded process, followed through the trace's
/// calls, so that a replay that goes live (`rewind inject`) can open them again where the
/// recording had them: path, flags and offset. Also keeps the bytes written to each file
/// the program created or truncated during the recording (`contents`), which the trace
/// determines completely.
public struct FileTable: Sendable {
  public enum Entry: Sendable, Equatable {
    /// A file or directory opened by path.
    case file(path: String, flags: Int32, offset: Int64?, cloexec: Bool)
    /// One of the descriptors the recorded root started with (0, 1, 2).
    case inherited(Int32, cloexec: Bool)
    /// Something that has no path to open again: a pipe, socket, eventfd...
    case other(kind: String, cloexec: Bool)

    var cloexec: Bool {
      switch self {
      case .file(_, _, _, let c), .inherited(_, let c), .other(_, let c): c
      }
    }
    func with(cloexec: Bool) -> Entry {
      switch self {
      case .file(let p, let f, let o, _): .file(path: p, flags: f, offset: o, cloexec: cloexec)
      case .inherited(let n, _): .inherited(n, cloexec: cloexec)
      case .other(let k, _): .other(kind: k, cloexec: cloexec)
      }
    }
  }

  /// Descriptors by recorded process, then number.
  public private(set) var descriptors: [Int32: [Int32: Entry]] = [:]
  public private(set) var workingDirectory: [Int32: String] = [:]
  /// What each file created or truncated in the recording holds, by path (nil once a write
  /// the trace did not capture in full makes it unknown).
  public private(set) var contents: [String: [UInt8]?] = [:]
  private var processes = ProcessTable()
  /// The root's first exec has given it the descriptors rewind record was started with.
  private var rootStarted = false

  public init() {}

  public mutating func add(_ event: TraceEvent) {
    processes.add(event)
    switch event {
    case .exec(let e):
      let pid = processes.processOf(e.tid)
      if pid == processes.processes.first?.pid && !rootStarted {
        rootStarted = true
        descriptors[pid, default: [:]].merge([0: .inherited(0, cloexec: false), 1: .inherited(1, cloexec: false), 2: .inherited(2, cloexec: false)]) { $1 }
      }
      descriptors[pid] = descriptors[pid]!.filter { !$0.value.cloexec }
      workingDirectory[pid] = e.cwd
    case .syscall(let e) where !e.isUnfinished:
      add(e)
    default:
      break
    }
  }

  private mutating func add(_ e: SyscallEvent) {
    guard let call = SyscallTable.syscall(numbered: e.number) else { return }
    let pid = processes.processOf(e.tid)
    let a = e.entryRegisters.syscallArguments
    let fd0 = Int32(truncatingIfNeeded: Int64(bitPattern: a[0]))
    let result = e.result
    let succeeded = !(-4095 ... -1).contains(result)
    var table = descriptors[pid] ?? [:]
    defer { descriptors[pid] = table }
    func string(at address: UInt64) -> String? {
      guard let chunk = e.inputs.first(where: { $0.address == address }) else { return nil }
      return String(decoding: chunk.bytes.prefix { $0 != 0 }, as: UTF8.self)
    }
    func resolve(_ path: String, relativeTo dirfd: Int32) -> String {
      if path.hasPrefix("/") { return path }
      let base: String?
      if dirfd == AT_FDCWD { base = workingDirectory[pid] } else if case .file(let p, _, _, _)? = table[dirfd] { base = p } else { base = nil }
      guard let base else { return path }
      return base.hasSuffix("/") ? base + path : base + "/" + path
    }
    func opened(_ path: String?, flags: Int32) {
      guard succeeded, let path else { return }
      let fd = Int32(truncatingIfNeeded: result)
      table[fd] = .file(path: path, flags: flags, offset: 0, cloexec: flags & O_CLOEXEC != 0)
      if flags & O_TRUNC != 0 || flags & (O_CREAT | O_EXCL) == O_CREAT | O_EXCL {
        contents[path] = .some([])
      }
    }
    func advance(_ fd: Int32, by count: Int64, writing bytes: [UInt8]? = nil, at explicitOffset: Int64? = nil) {
      guard case .file(let path, let flags, let offset, let cloexec)? = table[fd] else { return }
      let position = explicitOffset ?? (flags & O_APPEND != 0 ? nil : offset)
      if let bytes, let known = contents[path] {
        if var data = known, bytes.count >= Int(count) {
          let start = position.map { Int($0) } ?? data.count  // O_APPEND writes at the end
          let end = start + Int(count)
          if data.count < end { data += Array(repeating: 0, count: end - data.count) }
          data.replaceSubrange(start..<end, with: bytes.prefix(Int(count)))
          contents[path] = .some(data)
        } else {
          contents[path] = .some(nil)  // a write the trace did not capture in full
        }
      }
      if explicitOffset == nil {
        table[fd] = .file(path: path, flags: flags, offset: position.map { $0 + count }, cloexec: cloexec)
      }
    }
    func inputBytes(_ address: UInt64) -> [UInt8] { e.inputs.first { $0.address == address }?.bytes ?? [] }

    switch call.name {
    case "open": opened(string(at: a[0]).map { resolve($0, relativeTo: AT_FDCWD) }, flags: Int32(truncatingIfNeeded: a[1]))
    case "creat": opened(string(at: a[0]).map { resolve($0, relativeTo: AT_FDCWD) }, flags: O_CREAT | O_WRONLY | O_TRUNC)
    case "openat": opened(string(at: a[1]).map { resolve($0, relativeTo: fd0) }, flags: Int32(truncatingIfNeeded: a[2]))
    case "openat2":
      let how = inputBytes(a[2])
      let flags = how.count >= 8 ? Int32(truncatingIfNeeded: how.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }) : 0
      opened(string(at: a[1]).map { resolve($0, relativeTo: fd0) }, flags: flags)
    case "close":
      if succeeded || result == -4 { table[fd0] = nil }
    case "close_range":
      let last = a[1] > UInt64(Int32.max) ? Int32.max : Int32(a[1])
      if succeeded { table = table.filter { !($0.key >= fd0 && $0.key <= last) } }
    case "dup":
      if succeeded, let entry = table[fd0] { table[Int32(truncatingIfNeeded: result)] = entry.with(cloexec: false) }
    case "dup2", "dup3":
      if succeeded, let entry = table[fd0] {
        table[Int32(truncatingIfNeeded: result)] = entry.with(cloexec: call.name == "dup3" && a[2] & UInt64(O_CLOEXEC) != 0)
      }
    case "fcntl":
      switch a[1] {
      case 0, 1030:  // F_DUPFD, F_DUPFD_CLOEXEC
        if succeeded, let entry = table[fd0] { table[Int32(truncatingIfNeeded: result)] = entry.with(cloexec: a[1] == 1030) }
      case 2:  // F_SETFD
        if succeeded, let entry = table[fd0] { table[fd0] = entry.with(cloexec: a[2] & 1 != 0) }
      default: break
      }
    case "pipe", "pipe2", "socketpair":
      // The two descriptors are in the call's output.
      let address = call.name == "socketpair" ? a[3] : a[0]
      // SOCK_CLOEXEC, in socketpair's type, is O_CLOEXEC's bit.
      let cloexec = call.name == "pipe2" ? a[1] & UInt64(O_CLOEXEC) != 0 : call.name == "socketpair" && a[1] & UInt64(O_CLOEXEC) != 0
      if succeeded, let pair = e.outputs.first(where: { $0.address == address }), pair.bytes.count >= 8 {
        for i in 0..<2 {
          let fd = pair.bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self) }
          table[fd] = .other(kind: call.name == "socketpair" ? "a socket pair" : "a pipe", cloexec: cloexec)
        }
      }
    case "socket", "accept", "accept4", "eventfd", "eventfd2", "epoll_create", "epoll_create1", "timerfd_create", "signalfd", "signalfd4",
      "inotify_init", "inotify_init1", "memfd_create", "pidfd_open", "fanotify_init", "userfaultfd", "perf_event_open":
      if succeeded {
        let kind = ["socket": "a socket", "accept": "a connected socket", "accept4": "a connected socket", "memfd_create": "a memfd"][call.name] ?? "an \(call.name) descriptor"
        table[Int32(truncatingIfNeeded: result)] = .other(kind: kind, cloexec: false)
      }
    case "read", "readv", "recvfrom", "recvmsg":
      if succeeded { advance(fd0, by: result) }
    case "write":
      if succeeded { advance(fd0, by: result, writing: inputBytes(a[1])) }
    case "writev":
      if succeeded {
        // The captured iovec buffers, in order (the iovec array itself is at a[1]).
        let bytes = e.inputs.filter { $0.address != a[1] }.flatMap(\.bytes)
        advance(fd0, by: result, writing: bytes)
      }
    case "pwrite64":
      if succeeded { advance(fd0, by: result, writing: inputBytes(a[1]), at: Int64(bitPattern: a[3])) }
    case "lseek":
      if succeeded, case .file(let path, let flags, _, let cloexec)? = table[fd0] {
        table[fd0] = .file(path: path, flags: flags, offset: result, cloexec: cloexec)
      }
    case "sendfile":
      if succeeded {
        advance(Int32(truncatingIfNeeded: a[0]), by: result, writing: e.passedThrough)
        if a[2] == 0 { advance(Int32(truncatingIfNeeded: a[1]), by: result) }
      }
    case "ftruncate":
      if succeeded, case .file(let path, _, _, _)? = table[fd0], let known = contents[path], var data = known {
        let length = Int(a[1])
        if data.count > length { data.removeLast(data.count - length) } else { data += Array(repeating: 0, count: length - data.count) }
        contents[path] = .some(data)
      }
    case "chdir":
      if succeeded, let path = string(at: a[0]) { workingDirectory[pid] = resolve(path, relativeTo: AT_FDCWD) }
    case "fchdir":
      if succeeded, case .file(let path, _, _, _)? = table[fd0] { workingDirectory[pid] = path }
    case "fork", "vfork", "clone", "clone3":
      if succeeded && result > 0 && !ProcessTable.makesThread(e) {
        let child = Int32(truncatingIfNeeded: result)
        descriptors[child] = table
        workingDirectory[child] = workingDirectory[pid]
      }
    case "unlink", "unlinkat":
      let path = call.name == "unlink" ? string(at: a[0]).map { resolve($0, relativeTo: AT_FDCWD) } : string(at: a[1]).map { resolve($0, relativeTo: fd0) }
      if succeeded, let path { contents[path] = nil }
    default:
      break
    }
  }
}
