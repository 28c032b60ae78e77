import Foundation

/// What went wrong in VM mode, worded for the user: each message names what was wrong and
/// what to do about it.
public struct VMError: Error, CustomStringConvertible, Sendable {
  public enum Kind: Sendable {
    /// The command line asked for something impossible (exit 64, the project's usage status).
    case usage
    /// QEMU or another tool VM mode needs is missing.
    case missingTool
    /// The trace is missing, incomplete, damaged, or does not fit this replay.
    case badTrace
    /// QEMU failed or the guest did not behave as recorded.
    case failed
  }

  public var kind: Kind
  public var message: String

  public init(_ kind: Kind, _ message: String) {
    self.kind = kind
    self.message = message
  }

  public var description: String { message }
}
