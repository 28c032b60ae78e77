#if canImport(Glibc)
  import Glibc
#endif

/// Appends whole frames to one stream file of a trace and counts its bytes.
///
/// Each frame goes out in one `write`, so a recorder killed by SIGKILL leaves at most the
/// last frame of a stream cut short (the kernel completes a write it has started to a
/// regular file unless the disk fills).
final class StreamAppender {
  let name: String
  let path: String
  private let fd: Int32
  private(set) var compressedBytes: UInt64 = 0
  private(set) var uncompressedBytes: UInt64 = 0

  init(directory: String, name: String) throws(SystemCallError) {
    self.name = name
    self.path = directory + "/" + name
    self.fd = try SystemCall.open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND)
  }

  func append(frame: [UInt8], uncompressedCount: Int) throws(SystemCallError) {
    let result = frame.withUnsafeBytes { raw in
      Result { () throws(SystemCallError) in try SystemCall.writeAll(fd, raw, path: path) }
    }
    try result.get()
    compressedBytes += UInt64(frame.count)
    uncompressedBytes += UInt64(uncompressedCount)
  }

  /// Makes the stream durable before summary.json says the recording finished cleanly.
  func sync() throws(SystemCallError) {
    if fsync(fd) != 0 { throw SystemCallError(path: path, errno: errno) }
  }

  deinit { SystemCall.close(fd) }
}
