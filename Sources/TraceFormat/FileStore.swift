import CXXHash
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// The `files/` directory of a trace: saved copies of mapped files, named by content hash.
///
/// Replay maps these copies instead of the originals, which may have changed or vanished
/// since recording. A file is saved once per content (two paths with the same bytes share
/// one copy) and hashed once per identity (device, inode, size, mtime), so the libc that
/// every process maps costs one hash per recording.
///
/// Files under the system directories in `hardLinkRoots` are hard-linked when the kernel
/// allows it: package managers replace those files by rename, so the linked inode keeps the
/// recorded bytes. Anything else may be rewritten in place, which would change a hard link
/// too, so it is copied: a reflink (FICLONE) where the file system can share blocks, a plain
/// copy otherwise. Linking fails with EPERM for an unprivileged recorder when
/// fs.protected_hardlinks is 1 (the default) and the file is not the user's, and with EXDEV
/// across file systems; both fall back to copying.
final class FileStore: @unchecked Sendable {
  static let hardLinkRoots = ["/usr", "/lib", "/lib64", "/bin", "/sbin", "/opt"]
  /// FICLONE from linux/fs.h: _IOW(0x94, 9, int).
  private static let ficlone: UInt = 0x4004_9409

  private struct Identity: Hashable {
    var device: UInt64
    var inode: UInt64
    var size: Int64
    var mtimeSeconds: Int
    var mtimeNanoseconds: Int
  }

  let directory: String
  private let lock = NSLock()
  private var hashByIdentity: [Identity: String] = [:]
  private var temporaryCounter = 0

  init(directory: String) throws(SystemCallError) {
    self.directory = directory
    if mkdir(directory, 0o755) != 0 && errno != EEXIST {
      throw SystemCallError(path: directory, errno: errno)
    }
  }

  func path(forHash hash: String) -> String { directory + "/" + hash }

  func save(atPath path: String) throws(SystemCallError) -> MappedFile {
    let fd = try SystemCall.open(path, O_RDONLY)
    defer { SystemCall.close(fd) }
    return try save(openFileDescriptor: fd, originalPath: path)
  }

  func save(openFileDescriptor fd: Int32, originalPath: String) throws(SystemCallError)
    -> MappedFile
  {
    let info = try SystemCall.fstat(fd, path: originalPath)
    let identity = Identity(
      device: UInt64(info.st_dev), inode: UInt64(info.st_ino), size: Int64(info.st_size),
      mtimeSeconds: info.st_mtim.tv_sec, mtimeNanoseconds: info.st_mtim.tv_nsec)
    let size = UInt64(info.st_size)
    if let hash = cachedHash(identity) {
      return MappedFile(contentHash: hash, originalPath: originalPath, fileSize: size)
    }
    var hash = try Self.contentHash(of: fd, path: originalPath)
    if access(path(forHash: hash), F_OK) != 0 {
      if !(Self.isUnderHardLinkRoot(originalPath) && link(fd, as: path(forHash: hash))) {
        hash = try copy(fd, originalPath: originalPath)
      }
    }
    remember(hash, for: identity)
    return MappedFile(contentHash: hash, originalPath: originalPath, fileSize: size)
  }

  static func isUnderHardLinkRoot(_ path: String) -> Bool {
    hardLinkRoots.contains { path == $0 || path.hasPrefix($0 + "/") }
  }

  /// XXH3-128 of the whole file, as 32 lowercase hex digits (the canonical big-endian form).
  static func contentHash(of fd: Int32, path: String) throws(SystemCallError) -> String {
    var hasher = ContentHasher()
    var offset: UInt64 = 0
    while true {
      let block = try SystemCall.pread(fd, count: 1 << 20, offset: offset, path: path)
      if block.isEmpty { break }
      hasher.update(block)
      offset += UInt64(block.count)
    }
    return hasher.finalize()
  }

  /// Links the inode open as `fd` to `destination`; false when the kernel refuses.
  private func link(_ fd: Int32, as destination: String) -> Bool {
    // linkat with AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; following the /proc magic link
    // does not.
    if linkat(AT_FDCWD, "/proc/self/fd/\(fd)", AT_FDCWD, destination, AT_SYMLINK_FOLLOW) == 0 {
      return true
    }
    return errno == EEXIST
  }

  /// Copies the file into the store and returns the hash of the bytes actually saved, which
  /// differs from the first hash only if the file changed while we copied it.
  private func copy(_ source: Int32, originalPath: String) throws(SystemCallError) -> String {
    let temporary = nextTemporaryPath()
    // Read-only, and executable: replay execs the saved copy of every program it runs.
    let destination = try SystemCall.open(temporary, O_RDWR | O_CREAT | O_EXCL, 0o555)
    var saved = false
    defer {
      SystemCall.close(destination)
      if !saved { unlink(temporary) }
    }
    let hash: String
    if ioctl(destination, Self.ficlone, source) == 0 {
      hash = try Self.contentHash(of: destination, path: temporary)
    } else {
      hash = try Self.copyBytes(from: source, to: destination, path: temporary, originalPath)
    }
    if rename(temporary, path(forHash: hash)) != 0 {
      throw SystemCallError(path: path(forHash: hash), errno: errno)
    }
    saved = true
    return hash
  }

  private static func copyBytes(
    from source: Int32, to destination: Int32, path: String, _ originalPath: String
  ) throws(SystemCallError) -> String {
    var hasher = ContentHasher()
    var offset: UInt64 = 0
    while true {
      let block = try SystemCall.pread(source, count: 1 << 20, offset: offset, path: originalPath)
      if block.isEmpty { break }
      hasher.update(block)
      let result = block.withUnsafeBytes { raw in
        Result { () throws(SystemCallError) in
          try SystemCall.writeAll(destination, raw, path: path)
        }
      }
      try result.get()
      offset += UInt64(block.count)
    }
    return hasher.finalize()
  }

  private func nextTemporaryPath() -> String {
    lock.lock()
    defer { lock.unlock() }
    temporaryCounter += 1
    return directory + "/.partial-\(getpid())-\(temporaryCounter)"
  }

  private func cachedHash(_ identity: Identity) -> String? {
    lock.lock()
    defer { lock.unlock() }
    return hashByIdentity[identity]
  }

  private func remember(_ hash: String, for identity: Identity) {
    lock.lock()
    defer { lock.unlock() }
    hashByIdentity[identity] = hash
  }
}
