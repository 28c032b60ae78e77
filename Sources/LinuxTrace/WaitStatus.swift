import CSupport
import Glibc

/// A ptrace event reported in a stop status (`status >> 16`).
public enum PtraceEvent: Int32, Sendable {
  case fork = 1, vfork = 2, clone = 3, exec = 4, vforkDone = 5, exit = 6, seccomp = 7
  case stop = 128
}

/// The status waitpid(2) reported, decoded once at the edge (rr's WaitStatus).
public enum WaitStatus: Equatable, Sendable {
  case exited(code: Int32)
  case killed(by: Signal, coreDumped: Bool)
  /// signal-delivery-stop (or, under PTRACE_TRACEME, a group-stop that looks like one).
  case signalStop(Signal)
  /// syscall-enter-stop or syscall-exit-stop; needs PTRACE_O_TRACESYSGOOD.
  case syscallStop
  case event(PtraceEvent)

  public init(raw status: Int32) {
    if rewind_wifexited(status) != 0 {
      self = .exited(code: rewind_wexitstatus(status))
    } else if rewind_wifsignaled(status) != 0 {
      self = .killed(by: Signal(rawValue: rewind_wtermsig(status)), coreDumped: rewind_wcoredump(status) != 0)
    } else {
      precondition(rewind_wifstopped(status) != 0, "waitpid status \(status) is neither exit, kill nor stop")
      let stopSignal = rewind_wstopsig(status)
      let eventNumber = (status >> 16) & 0xffff
      if stopSignal == (SIGTRAP | 0x80) {
        self = .syscallStop
      } else if eventNumber != 0, let event = PtraceEvent(rawValue: eventNumber) {
        self = .event(event)
      } else {
        self = .signalStop(Signal(rawValue: stopSignal))
      }
    }
  }

  public var isTerminal: Bool {
    switch self {
    case .exited, .killed: true
    default: false
    }
  }
}

/// `__WALL`, and `__WNOTHREAD`: a thread waits for its own tracees only. Without it, any
/// thread of the process may reap the tracees of another tracer thread.
private func waitFlags(onlyOwnThread: Bool) -> Int32 {
  Int32(bitPattern: 0x4000_0000) | (onlyOwnThread ? 0x2000_0000 : 0)
}

/// Waits for a state change of `pid` (any thread, `__WALL`), retrying on EINTR.
/// `givesUp` is asked at each EINTR: when it says so, the wait ends with EINTR (a watchdog
/// woke the thread because the tracee will never report).
public func waitForTracee(
  _ pid: Int32, onlyOwnThread: Bool = false, givesUp: () -> Bool = { false }
) throws(Errno) -> WaitStatus {
  var status: Int32 = 0
  while true {
    let r = waitpid(pid, &status, waitFlags(onlyOwnThread: onlyOwnThread))
    if r == pid { return WaitStatus(raw: status) }
    if r == -1 && errno == EINTR {
      if givesUp() { throw Errno(rawValue: EINTR) }
      continue
    }
    throw Errno.current
  }
}

/// Waits for a state change of any tracee (`waitpid(-1, __WALL)`), retrying on EINTR.
/// Returns nil when there is no child left to wait for (ECHILD).
/// With `blocking: false` (WNOHANG) it also returns nil when no tracee has news now.
public func waitForAnyTracee(onlyOwnThread: Bool = false, blocking: Bool = true) throws(Errno) -> (tid: Int32, status: WaitStatus)? {
  var status: Int32 = 0
  while true {
    let r = waitpid(-1, &status, waitFlags(onlyOwnThread: onlyOwnThread) | (blocking ? 0 : WNOHANG))
    if r > 0 { return (r, WaitStatus(raw: status)) }
    if r == 0 { return nil }
    if r == -1 && errno == EINTR { continue }
    if r == -1 && errno == ECHILD { return nil }
    throw Errno.current
  }
}

/// What a wait for any tracee that a signal may interrupt came back with.
public enum TraceeWaitOutcome: Equatable {
  case stopped(tid: Int32, status: WaitStatus)
  /// No child is left (ECHILD).
  case noTracees
  /// A signal to this thread (a timer's) ended the wait first.
  case interrupted
}

/// Waits for a state change of any tracee like `waitForAnyTracee`, but returns on EINTR.
public func waitForAnyTraceeOrSignal(onlyOwnThread: Bool = false) throws(Errno) -> TraceeWaitOutcome {
  var status: Int32 = 0
  let r = waitpid(-1, &status, waitFlags(onlyOwnThread: onlyOwnThread))
  if r > 0 { return .stopped(tid: r, status: WaitStatus(raw: status)) }
  if r == -1 && errno == EINTR { return .interrupted }
  if r == -1 && errno == ECHILD { return .noTracees }
  throw Errno.current
}
