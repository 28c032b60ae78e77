import LinuxTrace

/// Why a recording stopped early. Each says what happened and what to do.
public enum RecordError: Error, CustomStringConvertible {
  case spawnFailed(path: String, errno: Errno)
  case execFailed(path: String, errno: Errno, exitCode: Int32)
  case ptraceFailed(operation: String, errno: Errno)
  case unknownSyscall(number: Int, event: UInt64)
  case unsupportedSyscall(name: String, reason: String, event: UInt64)
  case syscallTable(description: String, event: UInt64)
  case trace(description: String)

  /// The tracee vanished under us (killed from outside): its exit status is on its way, so
  /// this is no reason to stop the recording.
  var isNoSuchProcess: Bool {
    if case .ptraceFailed(_, let errno) = self { return errno == .noSuchProcess }
    return false
  }

  public var description: String {
    switch self {
    case .spawnFailed(let path, let errno):
      "rewind: cannot start '\(path)': \(errno)."
    case .execFailed(let path, let errno, _):
      "rewind: cannot execute '\(path)': \(errno)."
    case .ptraceFailed(let operation, let errno):
      "rewind: \(operation) failed: \(errno). Run `rewind doctor` to see what this machine allows."
    case .unknownSyscall(let number, let event):
      "rewind: the program made system call \(number), which rewind does not know (event \(event)). "
        + "The recording stopped there; the trace holds everything before it. "
        + "Please report the program and this number."
    case .unsupportedSyscall(let name, let reason, let event):
      "rewind: the program called \(name) (event \(event)), which rewind cannot record: \(reason). "
        + "The recording stopped there; the trace holds everything before it."
    case .syscallTable(let description, let event):
      "rewind: at event \(event): \(description). The recording stopped there; the trace holds "
        + "everything before it."
    case .trace(let description):
      "rewind: writing the trace failed: \(description)"
    }
  }
}
