import CSupport
import Foundation
import LinuxTrace
import Synchronization

/// Notices a replay that cannot make progress: the tracer thread waits for a tracee that
/// will never report again, and would wait for ever with nothing on screen.
///
/// Replay emulates every call that could block, so a tracee it waits for is running user
/// code (looking for a code point, which `CodePointWatch` covers) or about to stop. One
/// that sits in a stop already collected, has died, or stays blocked in the kernel will not
/// stop again: that is a bug in rewind (or a trace it cannot replay). The watch then wakes
/// the tracer thread out of waitpid with SIGURG, and the session reports what each thread
/// was doing (`ReplayStalled`). REWIND_STALL_PATIENCE sets the seconds (tests).
final class StallWatch: Sendable {
  /// The tracer thread's current wait. It reads no clock (a system call here, at every stop
  /// replay waits for): the watch notes when it first sees a wait, which makes the patience
  /// at most one tick longer.
  private struct Wait {
    var tid: Int32
    var seenAt: Double?
    var stalled = false
  }

  private let wait = Mutex<Wait?>(nil)
  /// Seconds a wait for a stopped or dead tracee may last: a stop is reported at once.
  let patience: Double
  /// Seconds a tracee may stay blocked in the kernel: replay performs no call that waits
  /// (the recorded program did), so this is generous only for a slow machine.
  let blockedPatience: Double
  private let tracerThread = pthread_self()
  static let wakeupSignal = SIGURG

  /// Must be made on the tracer thread, which the watch wakes.
  init(recordingSeconds: Double?, patience: Double? = nil, blockedPatience: Double? = nil) {
    let given = ProcessInfo.processInfo.environment["REWIND_STALL_PATIENCE"].flatMap(Double.init)
    self.patience = patience ?? given ?? 5
    self.blockedPatience = blockedPatience ?? given ?? max(30, 10 * (recordingSeconds ?? 0))
    _ = rewind_install_wakeup_signal(StallWatch.wakeupSignal)
    let interval = useconds_t(min(0.5, max(0.02, self.patience / 5)) * 1e6)
    Thread.detachNewThread { [self] in
      while true {
        usleep(interval)
        tick()
      }
    }
  }

  /// Marks the tracer thread as waiting for `tid` until `body` returns.
  func waiting<T>(for tid: Int32, _ body: () throws -> T) rethrows -> T {
    wait.withLock { $0 = Wait(tid: tid) }
    defer { wait.withLock { $0 = nil } }
    return try body()
  }

  /// Whether the current wait was found stalled (the tracer thread asks at EINTR).
  var hasStalled: Bool { wait.withLock { $0?.stalled ?? false } }

  private func tick() {
    let wake: Bool = wait.withLock { current in
      guard var running = current, !running.stalled else { return false }
      guard let seenAt = running.seenAt else {
        running.seenAt = monotonicSeconds()
        current = running
        return false
      }
      let elapsed = monotonicSeconds() - seenAt
      guard elapsed >= patience else { return false }
      let state = SchedulingState(tid: running.tid)
      guard state.cannotReportAgain || (state.isBlockedInKernel && elapsed >= blockedPatience) else { return false }
      running.stalled = true
      current = running
      return true
    }
    if wake { pthread_kill(tracerThread, StallWatch.wakeupSignal) }
  }
}

/// A thread's scheduling state from /proc/TID/stat, and the call it is in.
struct SchedulingState {
  /// R running, S/D sleeping in the kernel, t/T stopped, Z/X dead; nil when it is gone.
  var state: Character?

  init(tid: Int32) {
    guard let text = try? readProcFile("/proc/\(tid)/stat"), let close = text.lastIndex(of: ")")
    else {
      state = nil
      return
    }
    // "pid (comm) S ...": the command may hold spaces and parentheses.
    state = text[text.index(after: close)...].first { $0 != " " }
  }

  var cannotReportAgain: Bool { state.map { "tTZX".contains($0) } ?? true }
  var isBlockedInKernel: Bool { state.map { "SD".contains($0) } ?? false }

  var description: String {
    switch state {
    case nil: return "gone"
    case "R": return "running"
    case "S", "D": return "blocked in the kernel"
    case "t", "T": return "stopped, and its stop already handled"
    case "Z", "X": return "dead"
    case let other?: return "in state \(other)"
    }
  }
}
