import Glibc

/// An errno value from a failed system call, with the kernel's name for it.
public struct Errno: RawRepresentable, Error, Hashable, Sendable, CustomStringConvertible {
  public let rawValue: Int32
  public init(rawValue: Int32) { self.rawValue = rawValue }

  /// The errno of the last failed libc call on this thread.
  public static var current: Errno { Errno(rawValue: errno) }

  /// The tracee does not exist, or is not stopped for us. The C error is `ESRCH`.
  public static var noSuchProcess: Errno { Errno(rawValue: ESRCH) }
  /// The address is not mapped in the tracee. The C error is `EFAULT`.
  public static var badAddress: Errno { Errno(rawValue: EFAULT) }
  /// The C error is `EINTR`.
  public static var interrupted: Errno { Errno(rawValue: EINTR) }
  /// The C error is `EIO`.
  public static var ioError: Errno { Errno(rawValue: EIO) }

  public var description: String {
    let message = String(cString: strerror(rawValue))
    return "\(message) (errno \(rawValue))"
  }
}
