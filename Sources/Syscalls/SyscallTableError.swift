/// Why the table cannot describe a call. Each message says what was found and what to do.
public enum SyscallTableError: Error, CustomStringConvertible, Equatable {
  /// The number is not in `<asm/unistd_64.h>` as this rewind knows it.
  case unknownSyscall(number: Int)
  /// An ioctl whose output the table does not know; emulating it could leave memory unwritten.
  case unknownIoctl(request: UInt64, fd: Int)
  /// A call the table knows but rewind cannot record.
  case unsupported(name: String, reason: String)
  /// The call's arguments do not fit its row (a negative size, an iovec count over IOV_MAX).
  case invalidArguments(name: String, problem: String)

  public var description: String {
    switch self {
    case .unknownSyscall(let number):
      "rewind does not know system call \(number): it is not in the table built from "
        + "<asm/unistd_64.h>. If your kernel is newer than rewind, add its row to "
        + "Sources/Syscalls/SyscallTable+Rows*.swift; otherwise the program made an invalid call, "
        + "which would fail with ENOSYS."
    case .unknownIoctl(let request, let fd):
      "rewind does not know what ioctl \(hex(request)) \(IoctlRequest(request).decoded) on fd "
        + "\(fd) writes, so it cannot replay it. Add the request to Sources/Syscalls/Ioctl.swift "
        + "with the size of what it writes, or record a program that does not use it."
    case .unsupported(let name, let reason):
      "\(name): \(reason)"
    case .invalidArguments(let name, let problem):
      "\(name): \(problem)"
    }
  }
}

func hex(_ value: UInt64) -> String { "0x" + String(value, radix: 16) }
