import Dispatch

/// Passes control between a debugger's server thread and the tracer thread that runs the
/// replay. ptrace requests must come from the tracer thread (DESIGN.md principle 7), so the
/// server never touches a tracee: it hands the tracer a job and waits for it.
///
/// Exactly one side runs at a time. The tracer runs the replay until it has something to
/// report, then parks in `report(_:)` running the server's jobs; a job that resumes the
/// replay makes `report` return, and the server waits for the next report.
final class TracerHandoff: @unchecked Sendable {
  private let toTracer = DispatchSemaphore(value: 0)
  private let toServer = DispatchSemaphore(value: 0)
  /// The job for the tracer; it answers whether the replay should go on running.
  private var job: (() -> Bool)?
  private var latest: Result<DebugStop, Error>?
  /// The replay has ended (or failed): jobs can no longer run.
  private(set) var isFinished = false

  // MARK: server side

  /// Waits for the tracer's next report: the first stop, or how the replay ended.
  func waitForReport() -> Result<DebugStop, Error> {
    toServer.wait()
    return latest!
  }

  /// Runs `body` on the tracer thread while the replay is parked; false if it has ended.
  func perform(_ body: @escaping () -> Void) -> Bool {
    guard !isFinished else { return false }
    job = {
      body()
      return false
    }
    toTracer.signal()
    toServer.wait()
    return true
  }

  /// Runs `prepare` on the tracer thread, lets the replay go on, and waits for its next
  /// report.
  func resume(_ prepare: @escaping () -> Void) -> Result<DebugStop, Error> {
    guard !isFinished else { return latest! }
    job = {
      prepare()
      return true
    }
    toTracer.signal()
    return waitForReport()
  }

  // MARK: tracer side

  /// Reports a stop and serves jobs until one resumes the replay.
  func report(_ stop: DebugStop) {
    latest = .success(stop)
    toServer.signal()
    while true {
      toTracer.wait()
      let body = job!
      job = nil
      if body() { return }
      toServer.signal()
    }
  }

  /// The replay is over: `outcome` is its last word (an error, or the last stop).
  func finish(_ outcome: Result<DebugStop, Error>) {
    isFinished = true
    latest = outcome
    toServer.signal()
  }
}
