#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

/// A failed system call on a file of the trace: which path and the errno it set.
struct SystemCallError: Error {
  var path: String
  var errno: Int32
  var traceError: TraceError { .io(path: path, errno: errno) }
}

/// Thin retrying wrappers over the POSIX calls the trace files need.
///
/// They throw the path with the errno so every message can name the file.
enum SystemCall {
  static func open(_ path: String, _ flags: Int32, _ mode: mode_t = 0o644) throws(SystemCallError)
    -> Int32
  {
    while true {
      let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
      if fd >= 0 { return fd }
      if errno != EINTR { throw SystemCallError(path: path, errno: errno) }
    }
  }

  /// Writes all of `bytes`; a short write (disk full halfway) continues until it fails.
  static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String)
    throws(SystemCallError)
  {
    var done = 0
    while done < bytes.count {
      let n = Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
      if n < 0 {
        if errno == EINTR { continue }
        throw SystemCallError(path: path, errno: errno)
      }
      done += n
    }
  }

  /// Reads up to `count` bytes at `offset`; fewer only at the end of the file.
  static func pread(_ fd: Int32, count: Int, offset: UInt64, path: String) throws(SystemCallError)
    -> [UInt8]
  {
    var buffer = [UInt8](repeating: 0, count: count)
    var done = 0
    while done < count {
      let n = buffer.withUnsafeMutableBytes { raw in
        Glibc.pread(fd, raw.baseAddress! + done, count - done, off_t(offset) + off_t(done))
      }
      if n < 0 {
        if errno == EINTR { continue }
        throw SystemCallError(path: path, errno: errno)
      }
      if n == 0 { break }
      done += n
    }
    if done < count { buffer.removeLast(count - done) }
    return buffer
  }

  static func fstat(_ fd: Int32, path: String) throws(SystemCallError) -> stat {
    var info = stat()
    if Glibc.fstat(fd, &info) != 0 { throw SystemCallError(path: path, errno: errno) }
    return info
  }

  static func close(_ fd: Int32) {
    // Linux releases the descriptor even when close fails with EINTR; retrying could close a
    // descriptor another thread just opened.
    _ = Glibc.close(fd)
  }

  static func errorMessage(_ code: Int32) -> String {
    String(cString: strerror(code))
  }
}
