import Glibc
import LinuxTrace
import Syscalls
import TraceFormat

extension MemoryGroupTracer {
  /// For write-family calls, which of rewind's stdout and stderr they reached.
  func echoFD(of call: Syscall, arguments: [UInt64], result: Int64, _ task: RecordedTask) -> Int32? {
    guard result > 0 else { return nil }
    switch call.name {
    case "write", "writev", "pwrite64", "pwritev", "pwritev2", "sendfile":
      return echoTarget(ofFD: arguments[0], task)
    case "copy_file_range", "splice":
      return echoTarget(ofFD: arguments[2], task)
    default:
      return nil
    }
  }

  /// For sendfile, copy_file_range and splice from a regular file into fd 1 or 2 (`cat file`
  /// with stdout redirected to a file uses copy_file_range), re-reads the bytes the call moved
  /// so that replay can echo them: they never passed through tracee memory.
  func bytesPassedThrough(_ call: Syscall, arguments: [UInt64], result: Int64, _ task: RecordedTask) -> [UInt8]? {
    let pid = task.tid
    guard result > 0 else { return nil }
    let (input, offsetPointer, output): (UInt64, UInt64, UInt64)
    switch call.name {
    case "sendfile": (input, offsetPointer, output) = (arguments[1], arguments[2], arguments[0])
    case "copy_file_range", "splice": (input, offsetPointer, output) = (arguments[0], arguments[1], arguments[2])
    default: return nil
    }
    guard echoTarget(ofFD: output, task) != nil else { return nil }
    let fd = open("/proc/\(pid)/fd/\(input)", O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var info = stat()
    guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
    // The call advanced either *offset or the file position by `result`.
    let end: Int64
    if offsetPointer != 0 {
      guard let word = try? task.tracee.readWord(at: offsetPointer) else { return nil }
      end = Int64(bitPattern: word)
    } else {
      guard let position = filePosition(of: input, pid: pid) else { return nil }
      end = position
    }
    var bytes = [UInt8](repeating: 0, count: Int(result))
    let got = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, Int(result), off_t(end - result)) }
    return got == Int(result) ? bytes : nil
  }

  /// Which of rewind's own stdout (1) and stderr (2) the tracee's `fd` writes to, if either:
  /// what reached them is what replay echoes.
  func echoTarget(ofFD fd: UInt64, _ task: RecordedTask) -> Int32? {
    var info = stat()
    guard stat("/proc/\(task.tid)/fd/\(fd)", &info) == 0 else { return nil }
    let identity = FileIdentity(info)
    // Prefer the same number: a terminal is usually both.
    let ours: [(fd: Int32, file: FileIdentity?)] = fd == 2 ? [(Int32(2), session.standardError), (Int32(1), session.standardOutput)] : [(Int32(1), session.standardOutput), (Int32(2), session.standardError)]
    return ours.first { $0.file == identity }?.fd
  }

  /// The `pos:` line of /proc/PID/fdinfo/FD.
  private func filePosition(of fd: UInt64, pid: Int32) -> Int64? {
    procField("pos", inFile: "/proc/\(pid)/fdinfo/\(fd)").map(Int64.init)
  }
}


/// A file's identity (device and inode), to tell whether two descriptors name one file.
struct FileIdentity: Equatable {
  var device: UInt64
  var inode: UInt64
  init(_ info: stat) {
    device = UInt64(info.st_dev)
    inode = UInt64(info.st_ino)
  }
  init(device: UInt64, inode: UInt64) {
    self.device = device
    self.inode = inode
  }
  /// The file behind one of our own descriptors.
  init?(ofOwnFD fd: Int32) {
    var info = stat()
    guard fstat(fd, &info) == 0 else { return nil }
    self.init(info)
  }
}
