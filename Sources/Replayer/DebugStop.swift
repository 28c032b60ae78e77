import TraceFormat

/// Where a debugged replay starts, in the debugged process.
public enum DebugStart: Sendable, Equatable {
  /// As soon as the process exists: the root at its exec, a forked child at its first
  /// instruction.
  case processStart
  /// Right after the exec event with this index (the process's last exec).
  case afterExec(eventIndex: UInt64)
  /// At the first event numbered `eventIndex` or later.
  case event(UInt64)
}

/// Why a debugged replay stopped, in recorded pids and tids (gdb shows the recording's).
public struct DebugStop: Sendable, Equatable {
  public enum Kind: Sendable, Equatable {
    /// A thread stopped with this signal: 5 (SIGTRAP) for breakpoints, steps and system
    /// call stops, the recorded signal when one is about to be delivered.
    case signal(Int32, cause: Cause?)
    /// The process ended as it did in the recording.
    case exited(code: Int32)
    case killed(signal: Int32)
  }

  public enum Cause: Sendable, Equatable {
    case softwareBreakpoint
    case hardwareBreakpoint
    /// A data watchpoint on `address` triggered (`access`: read or write, else write).
    case watchpoint(address: UInt64, access: Bool)
    case syscallEntry(Int)
    case syscallReturn(Int)
    /// The recording ends here without the process having ended (the recorder was killed).
    case endOfRecording
    /// Going backwards, the replay reached its first stop: there is no more history.
    case historyBegin
    /// The process exec'd the program recorded at `path`; the thread is at its first
    /// instruction (the loader's).
    case exec(path: String)
  }

  public var kind: Kind
  public var pid: Int32
  public var tid: Int32
  /// The trace-wide number of the next event to replay (`monitor when`).
  public var eventIndex: UInt64

  public init(kind: Kind, pid: Int32, tid: Int32, eventIndex: UInt64) {
    self.kind = kind
    self.pid = pid
    self.tid = tid
    self.eventIndex = eventIndex
  }
}

/// What a debugger asks a replay to do next.
public enum DebugResume: Sendable, Equatable {
  /// Run until something the debugger must hear about.
  case `continue`
  /// Run one instruction of thread `tid` (recorded), and stop after it.
  case step(tid: Int32)
}

/// Hardware breakpoint and watchpoint kinds, as DR7 encodes their condition.
public enum HardwareWatchKind: Sendable, Equatable {
  case execute, write, readWrite
}

/// Which system calls stop a debugged replay, at their entry and their return.
public enum SyscallCatchSet: Sendable, Equatable {
  case none, all
  case only(Set<Int>)

  func contains(_ number: Int) -> Bool {
    switch self {
    case .none: return false
    case .all: return true
    case .only(let numbers): return numbers.contains(number)
    }
  }
}

/// The end of a debugging session: gdb killed the process, detached or went away.
struct DebugSessionEnded: Error {}

extension SyscallEvent {
  /// Whether the thread comes back from the call (exit and exit_group do not, nor a call
  /// the recording never saw return).
  var returns: Bool { !isUnfinished && number != 60 && number != 231 }
}
