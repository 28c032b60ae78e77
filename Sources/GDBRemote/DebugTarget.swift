/// What the server loop needs from the thing being debugged. The replay session
/// conforms in `rewind`; tests use `FakeTarget`. Errors thrown here become `Exx`
/// replies, so one failed read never ends the session.
public protocol DebugTarget: AnyObject {
  var threads: [ThreadID] { get }
  func registers(of thread: ThreadID) throws -> RegisterFile
  func readMemory(at address: UInt64, count: Int) throws -> [UInt8]
  /// Runs forward until something gdb must hear about.
  func resume(_ actions: [ResumeAction]) throws -> StopReason
}

/// Optional, found with `as?` (Delve's RecordingManipulation); gates ReverseContinue+.
public protocol ReversibleTarget: DebugTarget {
  func resume(_ actions: [ResumeAction], direction: Direction) throws -> StopReason
  func checkpoint() throws -> CheckpointID
  func restore(_ checkpoint: CheckpointID) throws
}

/// A point in the replay a `ReversibleTarget` can return to.
public struct CheckpointID: Hashable, Sendable, CustomStringConvertible {
  public var rawValue: Int

  public init(_ rawValue: Int) {
    self.rawValue = rawValue
  }

  public var description: String { "checkpoint \(rawValue)" }
}
