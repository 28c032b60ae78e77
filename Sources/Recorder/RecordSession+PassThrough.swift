import Glibc
import LinuxTrace
import Syscalls
import TraceFormat

extension RecordSession {
  /// For sendfile, copy_file_range and splice from a regular file into fd 1 or 2 (`cat file`
  /// with stdout redirected to a file uses copy_file_range), re-reads the bytes the call moved
  /// so that replay can echo them: they never passed through tracee memory.
  func bytesPassedThrough(_ call: Syscall, arguments: [UInt64], result: Int64) -> [UInt8]? {
    guard result > 0 else { return nil }
    let (input, offsetPointer, output): (UInt64, UInt64, UInt64)
    switch call.name {
    case "sendfile": (input, offsetPointer, output) = (arguments[1], arguments[2], arguments[0])
    case "copy_file_range", "splice": (input, offsetPointer, output) = (arguments[0], arguments[1], arguments[2])
    default: return nil
    }
    guard output == 1 || output == 2 else { return nil }
    let fd = open("/proc/\(pid)/fd/\(input)", O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var info = stat()
    guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
    // The call advanced either *offset or the file position by `result`.
    let end: Int64
    if offsetPointer != 0 {
      guard let word = try? tracee.readWord(at: offsetPointer) else { return nil }
      end = Int64(bitPattern: word)
    } else {
      guard let position = filePosition(of: input) else { return nil }
      end = position
    }
    var bytes = [UInt8](repeating: 0, count: Int(result))
    let got = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, Int(result), off_t(end - result)) }
    return got == Int(result) ? bytes : nil
  }

  /// The `pos:` line of /proc/PID/fdinfo/FD.
  private func filePosition(of fd: UInt64) -> Int64? {
    guard let text = try? readProcFile("/proc/\(pid)/fdinfo/\(fd)") else { return nil }
    for line in text.split(separator: "\n") where line.hasPrefix("pos:") {
      return Int64(line.dropFirst(4).trimmingCharacters(in: " \t"))
    }
    return nil
  }
}

extension Substring {
  fileprivate func trimmingCharacters(in set: String) -> String {
    String(drop(while: { set.contains($0) }).reversed().drop(while: { set.contains($0) }).reversed())
  }
}
