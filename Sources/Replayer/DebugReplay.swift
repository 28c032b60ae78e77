import LinuxTrace
import TraceFormat

/// A replay under a debugger's control: it runs on its own pinned tracer thread and stops
/// where the debugger asks; every method here may be called from any one other thread (the
/// gdb server's) and runs its ptrace work on the tracer thread.
public final class DebugReplay: @unchecked Sendable {
  private let session: ReplaySession
  private let debugger: ReplayDebugger
  private let handoff = TracerHandoff()
  private var thread: TracerThread.Handle?
  private var outcome: Result<ReplayOutcome, Error>?
  /// The debugged process, by its recorded pid.
  public var pid: Int32 { debugger.pid }

  /// `options.process` limits the replay to that process and its ancestry; `pid` is the
  /// process debugged (the root when nil).
  public init(options: ReplayOptions, pid: Int32, start: DebugStart) throws(ReplayError) {
    session = try ReplaySession(options: options)
    debugger = ReplayDebugger(pid: pid, start: start, handoff: handoff)
    debugger.session = session
    session.debugger = debugger
  }

  /// Starts the replay and waits for its first stop.
  public func start(cpu: Int32?) -> Result<DebugStop, Error> {
    thread = TracerThread.start(pinnedTo: cpu) { [self] in
      let result = Result { try session.run(cpu: cpu) }
      outcome = result
      switch result {
      case .success:
        handoff.finish(.failure(ReplayError.setup(notStartedMessage)))
      case .failure(let error):
        handoff.finish(.failure(error))
      }
    }
    return handoff.waitForReport()
  }

  private var notStartedMessage: String {
    switch debugger.start {
    case .event(let index): return "the replay ended before event \(index): the recording has \(session.cursor.consumed) events"
    default: return "the replay ended before process \(pid) started"
    }
  }

  /// Lets the replay run, or step one thread, until its next stop.
  public func resume(_ how: DebugResume) -> Result<DebugStop, Error> {
    handoff.resume { [debugger] in
      // A ^C that came after the last stop was reported is old news.
      debugger.interruptRequested.store(false, ordering: .relaxed)
      switch how {
      case .continue: debugger.stepTid = nil
      case .step(let tid): debugger.stepTid = tid
      }
    }
  }

  /// Asks a running replay to stop at its next event (gdb's ^C).
  public func interrupt() { debugger.interrupt() }

  /// Ends the replay (gdb killed the process, detached or left) and waits for its thread.
  /// A divergence found on the way is the failure.
  public func end() -> Result<ReplayOutcome, Error>? {
    if !handoff.isFinished {
      _ = handoff.resume { [debugger] in debugger.terminate = true }
    }
    thread?.join()
    thread = nil
    if case .failure(let error)? = outcome, error is DebugSessionEnded { return nil }
    return outcome
  }

  /// Runs `body` on the tracer thread.
  private func onTracer<T>(_ body: @escaping () throws -> T) throws -> T {
    var result: Result<T, Error>?
    guard handoff.perform({ result = Result { try body() } }) else {
      throw ReplayError.setup("the replay has ended")
    }
    return try result!.get()
  }

  /// The threads of the debugged process (recorded tids), its main thread first.
  public func threads() -> [Int32] { (try? onTracer { [debugger] in debugger.threads.map(\.recordedTid) }) ?? [] }

  public func state(ofThread tid: Int32) throws -> ThreadState {
    try onTracer { [session, debugger] in
      guard let task = session.tasks[tid], debugger.isDebugged(task) else { throw ReplayError.setup("no thread \(tid)") }
      return ThreadState(
        general: try session.currentRegisters(task), floatingPoint: try? task.tracee.floatingPointState(),
        extended: try? task.tracee.extendedState())
    }
  }

  public func readMemory(at address: UInt64, count: Int) throws -> [UInt8] {
    try onTracer { [debugger] in try debugger.readMemory(at: address, count: count) }
  }

  public func insertSoftwareBreakpoint(at address: UInt64) throws {
    try onTracer { [debugger] in try debugger.insertSoftwareBreakpoint(at: address) }
  }

  public func removeSoftwareBreakpoint(at address: UInt64) throws {
    try onTracer { [debugger] in try debugger.removeSoftwareBreakpoint(at: address) }
  }

  /// False when the debug registers are all in use.
  public func insertHardware(_ kind: HardwareWatchKind, at address: UInt64, length: Int) throws -> Bool {
    try onTracer { [debugger] in try debugger.insertHardware(kind, at: address, length: length) }
  }

  public func removeHardware(_ kind: HardwareWatchKind, at address: UInt64) throws {
    try onTracer { [debugger] in try debugger.removeHardware(kind, at: address) }
  }

  public func catchSyscalls(_ set: SyscallCatchSet) throws {
    try onTracer { [debugger] in debugger.catchSet = set }
  }

  /// The last stop reported.
  public func lastStop() -> DebugStop? { try? onTracer { [debugger] in debugger.lastStop } }
}

/// One thread's registers: general, FXSAVE (x87, SSE) and XSAVE (AVX) images.
public struct ThreadState: Sendable {
  public var general: Registers
  public var floatingPoint: [UInt8]?
  public var extended: [UInt8]?
}
