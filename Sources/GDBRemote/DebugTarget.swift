/// What the server loop needs from the thing being debugged. The replay session
/// conforms in `rewind`; tests use `FakeTarget`. Errors thrown here become `E`
/// replies, so one failed read never ends the session.
///
/// The server calls these from its own thread, one at a time; only `interrupt()` may
/// come from another thread while `resume` runs.
public protocol DebugTarget: AnyObject {
  /// The threads of the debugged process, the first being its main thread.
  var threads: [ThreadID] { get }
  /// Why the target is stopped now: the answer to `?` and the thread `qC` names.
  var currentStop: StopReason { get }
  func registers(of thread: ThreadID) throws -> RegisterFile
  func readMemory(at address: UInt64, count: Int) throws -> [UInt8]
  /// A replay refuses writes outside a diversion: throw `TargetError.refused`.
  func writeMemory(at address: UInt64, bytes: [UInt8]) throws
  func writeRegisters(_ registers: RegisterFile, of thread: ThreadID) throws
  /// Runs forward until something gdb must hear about.
  func resume(_ actions: [ResumeAction]) throws -> StopReason
  /// Asks a running `resume` to stop soon (gdb's ^C) and report a SIGINT stop. Called from
  /// another thread than the server's.
  ///
  /// The server watches for ^C from just before it calls `resume` until just after it
  /// returns, so a call can also land a moment outside a resume. Clear a pending
  /// interrupt when `resume` starts, so such a stray one cannot stop the next resume at
  /// once; a ^C that gdb sent before the resume packet was handled never gets here (the
  /// server answers it with a SIGINT stop without resuming).
  func interrupt()
  func insertBreakpoint(_ breakpoint: Breakpoint) throws
  func removeBreakpoint(_ breakpoint: Breakpoint) throws
  /// `QCatchSyscalls`: which system calls a resume stops at, at their entry and return.
  func catchSyscalls(_ which: GDBRequest.SyscallCatch) throws
  /// A `monitor` command (qRcmd): the text gdb prints, or throw for an unknown command.
  func monitor(_ command: String) throws -> String
  /// The process's auxiliary vector, as `/proc/PID/auxv` holds it.
  func auxiliaryVector() throws -> [UInt8]
  /// The executable's path in the target's file system (gdb then reads it with vFile).
  func executablePath(pid: Int32?) throws -> String
  /// Where on this machine to read the file the target knew as `path` (a saved copy in
  /// the trace, say), or nil when the target has no such file.
  func hostPath(forTargetFile path: String) -> String?
  /// `/proc/PID/name` of the debugged process as the target sees it (`maps`, `cmdline`,
  /// `exe`...), or nil when it has none; see the default below.
  func procFile(pid: Int32, name: String) -> ProcFile?
  /// gdb killed the process or detached: the session ends.
  func kill()
}

/// What the target answers for a file of its process's `/proc` directory.
public enum ProcFile: Sendable, Equatable {
  case contents([UInt8])
  /// A symbolic link (`exe`, `cwd`) and where it points.
  case link(String)
}

extension DebugTarget {
  /// `/proc/PID/name` of the debugged process as the target sees it (`maps`, `cmdline`,
  /// `exe`...), or nil when it has none. gdb's `info proc` and front ends read these through
  /// `vFile`; the server never answers them from this machine's `/proc`, whose process of
  /// that pid is another one.
  public func procFile(pid: Int32, name: String) -> ProcFile? { nil }
}

/// A target's failure with a reason the server logs and sends as `E.reason`.
public struct TargetError: Error, Equatable, Sendable, CustomStringConvertible {
  public var message: String
  /// The `Exx` number gdb shows when it does not print `E.` texts.
  public var code: UInt8
  /// The request is understood but not allowed now (a write outside a diversion).
  public var isRefusal: Bool

  public init(_ message: String, code: UInt8 = 1, isRefusal: Bool = false) {
    self.message = message
    self.code = code
    self.isRefusal = isRefusal
  }

  public static func refused(_ message: String) -> TargetError { TargetError(message, code: 1, isRefusal: true) }

  public var description: String { message }
}

/// Optional, found with `as?` (Delve's RecordingManipulation); gates ReverseContinue+.
public protocol ReversibleTarget: DebugTarget {
  func resume(_ actions: [ResumeAction], direction: Direction) throws -> StopReason
  func checkpoint() throws -> CheckpointID
  func restore(_ checkpoint: CheckpointID) throws
}

/// Optional, found with `as?`: the target evaluates the conditions gdb sends with
/// breakpoints (`Breakpoint.conditions`) and reports a hit only when one holds; gates
/// `ConditionalBreakpoints+`.
public protocol ConditionEvaluatingTarget: DebugTarget {}

/// A point in the replay a `ReversibleTarget` can return to.
public struct CheckpointID: Hashable, Sendable, CustomStringConvertible {
  public var rawValue: Int

  public init(_ rawValue: Int) {
    self.rawValue = rawValue
  }

  public var description: String { "checkpoint \(rawValue)" }
}
