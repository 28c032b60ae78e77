import Glibc

/// The files gdb reads with `vFile` (the executable, shared libraries), opened read-only
/// on this machine where `DebugTarget.hostPath(forTargetFile:)` says the target's copy is.
///
/// Numbers on the wire are gdb's File-I/O values, not the host's (gdb manual, "File-I/O
/// Remote Protocol Extension", "Constants"): errnos, open flags and `struct stat`. A
/// replay's files are history, so anything that would write or create is refused.
final class HostFiles {
  /// gdb's errno numbers. Linux uses the same numbers for all of these but the last two.
  enum FileIOErrno {
    static let notPermitted = 1  // EPERM
    static let noSuchFile = 2  // ENOENT
    static let badDescriptor = 9  // EBADF
    static let accessDenied = 13  // EACCES
    static let invalid = 22  // EINVAL
    static let nameTooLong = 91  // ENAMETOOLONG, 36 on Linux
    static let unknown = 9999  // EUNKNOWN: any errno gdb has no number for

    /// The host errnos whose numbers gdb shares (EPERM ... EROFS in the manual's table).
    static let shared: Set<CInt> = [
      EPERM, ENOENT, EINTR, EIO, EBADF, EACCES, EFAULT, EBUSY, EEXIST, ENODEV, ENOTDIR, EISDIR,
      EINVAL, ENFILE, EMFILE, EFBIG, ENOSPC, ESPIPE, EROFS,
    ]

    static func from(host code: CInt) -> Int {
      if shared.contains(code) { return Int(code) }
      return code == ENAMETOOLONG ? nameTooLong : unknown
    }
  }

  /// gdb's `vFile:open` flags.
  enum OpenFlags {
    static let writeOnly: UInt64 = 0x1
    static let readWrite: UInt64 = 0x2
    static let append: UInt64 = 0x8
    static let create: UInt64 = 0x200
    static let truncate: UInt64 = 0x400
    static let exclusive: UInt64 = 0x800
  }

  /// Host descriptors handed to gdb; gdb's numbers are these, checked before any use so
  /// gdb cannot read the server's own sockets.
  private var descriptors: Set<CInt> = []
  /// gdb sizes preads from the packet size; a larger count is cut rather than allocated.
  private let maximumRead: Int

  init(maximumRead: Int) {
    self.maximumRead = maximumRead
  }

  deinit {
    for fd in descriptors { close(fd) }
  }

  func handle(_ request: FileRequest, target: any DebugTarget, log: @Sendable (String) -> Void) -> GDBReply {
    switch request {
    case .setfs:
      // Paths are mapped by the target whatever namespace gdb names.
      return .file(result: 0)
    case .open(let path, let flags, _):
      if flags & (OpenFlags.create | OpenFlags.truncate | OpenFlags.exclusive) != 0 {
        log("gdb tried to create or truncate \(path): refused, a replay's files are read-only")
        return .file(result: -1, errno: FileIOErrno.notPermitted)
      }
      if flags & (OpenFlags.writeOnly | OpenFlags.readWrite | OpenFlags.append) != 0 {
        log("gdb tried to open \(path) for writing: refused, a replay's files are read-only")
        return .file(result: -1, errno: FileIOErrno.accessDenied)
      }
      if let (pid, name) = Self.procPath(path) {
        // The target's process, never this machine's of the same pid.
        guard case .contents(let bytes)? = target.procFile(pid: pid, name: name) else {
          return .file(result: -1, errno: FileIOErrno.noSuchFile)
        }
        return openInMemory(bytes)
      }
      guard let hostPath = target.hostPath(forTargetFile: path) else {
        return .file(result: -1, errno: FileIOErrno.noSuchFile)
      }
      let fd = Glibc.open(hostPath, O_RDONLY | O_CLOEXEC)
      guard fd >= 0 else { return failure() }
      descriptors.insert(fd)
      return .file(result: Int(fd))
    case .pread(let fd, let count, let offset):
      guard let fd = known(fd) else { return .file(result: -1, errno: FileIOErrno.badDescriptor) }
      guard offset <= UInt64(Int.max) else { return .file(result: -1, errno: FileIOErrno.invalid) }
      var data = [UInt8](repeating: 0, count: min(count, maximumRead))
      let read = data.withUnsafeMutableBytes { Glibc.pread(fd, $0.baseAddress, $0.count, off_t(offset)) }
      guard read >= 0 else { return failure() }
      return .file(result: read, attachment: Array(data[..<read]))
    case .close(let fd):
      guard let fd = known(fd) else { return .file(result: -1, errno: FileIOErrno.badDescriptor) }
      descriptors.remove(fd)
      close(fd)
      return .file(result: 0)
    case .fstat(let fd):
      guard let fd = known(fd) else { return .file(result: -1, errno: FileIOErrno.badDescriptor) }
      var status = stat()
      guard fstat(fd, &status) == 0 else { return failure() }
      let bytes = Self.fileIOStat(status)
      return .file(result: bytes.count, attachment: bytes)
    case .readlink(let path):
      if let (pid, name) = Self.procPath(path) {
        guard case .link(let destination)? = target.procFile(pid: pid, name: name) else {
          return .file(result: -1, errno: FileIOErrno.noSuchFile)
        }
        let bytes = Array(destination.utf8)
        return .file(result: bytes.count, attachment: bytes)
      }
      guard let hostPath = target.hostPath(forTargetFile: path) else {
        return .file(result: -1, errno: FileIOErrno.noSuchFile)
      }
      var buffer = [UInt8](repeating: 0, count: Int(PATH_MAX))
      let count = buffer.withUnsafeMutableBytes {
        Glibc.readlink(hostPath, $0.baseAddress!.assumingMemoryBound(to: CChar.self), $0.count)
      }
      guard count >= 0 else { return failure() }
      return .file(result: count, attachment: Array(buffer[..<count]))
    }
  }

  /// `/proc/PID/name` (a pid in decimal, or `self`: the target's process), as pid and name.
  static func procPath(_ path: String) -> (pid: Int32, name: String)? {
    let parts = path.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: true)
    guard path.hasPrefix("/proc/"), parts.count == 3, parts[0] == "proc" else { return nil }
    guard let pid = parts[1] == "self" ? 0 : Int32(parts[1]) else { return nil }
    return (pid, String(parts[2]))
  }

  /// A descriptor reading `bytes`: an unlinked temporary file, so pread and fstat work as
  /// for any other.
  private func openInMemory(_ bytes: [UInt8]) -> GDBReply {
    var template = Array("/tmp/rewind-proc-XXXXXX".utf8CString)
    let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
    guard fd >= 0 else { return failure() }
    template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
    _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
    var written = 0
    while written < bytes.count {
      let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + written, $0.count - written) }
      if n < 0 && errno == EINTR { continue }
      guard n > 0 else {
        close(fd)
        return failure()
      }
      written += n
    }
    descriptors.insert(fd)
    return .file(result: Int(fd))
  }

  private func known(_ fd: Int) -> CInt? {
    guard let fd = CInt(exactly: fd), descriptors.contains(fd) else { return nil }
    return fd
  }

  private func failure() -> GDBReply {
    .file(result: -1, errno: FileIOErrno.from(host: errno))
  }

  /// gdb's `struct stat`: 64 bytes, big-endian, `int`, `mode_t` and `time_t` 32 bits and
  /// `long` 64 (manual, "struct stat" and "Integral Datatypes"):
  /// dev ino mode nlink uid gid rdev (u32) | size blksize blocks (u64) | atime mtime ctime (u32).
  static func fileIOStat(_ status: stat) -> [UInt8] {
    var bytes: [UInt8] = []
    bytes.reserveCapacity(64)
    func u32<T: BinaryInteger>(_ value: T) { withUnsafeBytes(of: UInt32(truncatingIfNeeded: value).bigEndian) { bytes += $0 } }
    func u64<T: BinaryInteger>(_ value: T) { withUnsafeBytes(of: UInt64(truncatingIfNeeded: value).bigEndian) { bytes += $0 } }
    // st_dev 0 means "a file" (1 would be the console); the host's device is meaningless there.
    u32(0)
    u32(status.st_ino)
    u32(fileIOMode(status.st_mode))
    u32(status.st_nlink)
    u32(status.st_uid)
    u32(status.st_gid)
    u32(status.st_rdev)
    u64(status.st_size)
    u64(status.st_blksize)
    u64(status.st_blocks)
    u32(status.st_atim.tv_sec)
    u32(status.st_mtim.tv_sec)
    u32(status.st_ctim.tv_sec)
    return bytes
  }

  /// Only regular file, directory and character device types and the permission bits
  /// are defined for gdb; their values happen to be Linux's.
  static func fileIOMode(_ mode: mode_t) -> UInt32 {
    var result = UInt32(mode & 0o777)
    switch mode & S_IFMT {
    case S_IFREG: result |= 0o100000
    case S_IFDIR: result |= 0o040000
    case S_IFCHR: result |= 0o020000
    default: break
    }
    return result
  }
}
