import Dispatch
import LinuxTrace
import Synchronization

/// One replay of the recording from its start, on a tracer thread of its own.
final class Run {
  let session: ReplaySession
  let debugger: ReplayDebugger
  let handoff = TracerHandoff()
  /// Signalled when the run's job on the tracer thread is over.
  private var done: DispatchSemaphore?
  private(set) var outcome: Result<ReplayOutcome, Error>?

  init(options: ReplayOptions, pid: Int32, start: DebugStart) throws(ReplayError) {
    session = try ReplaySession(options: options)
    debugger = ReplayDebugger(pid: pid, start: start, handoff: handoff)
    debugger.session = session
    session.debugger = debugger
  }

  /// Starts the replay on `worker` (from a copy of `checkpoint`, else from the start) and
  /// waits for its first stop.
  func begin(on worker: TracerWorker, cpu: Int32?, from checkpoint: Checkpoint?) -> Result<DebugStop, Error> {
    let done = DispatchSemaphore(value: 0)
    self.done = done
    worker.submit { [self] in
      defer { done.signal() }
      let result = Result { try session.run(cpu: cpu, from: checkpoint) }
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
    default: return "the replay ended before process \(debugger.pid) started"
    }
  }

  /// Ends the run (its processes are killed) and waits for its thread.
  func end() {
    if !handoff.isFinished {
      _ = handoff.resume { [debugger] in debugger.terminate = true }
    }
    done?.wait()
    done = nil
  }
}

/// One tracer thread that runs jobs in turn, for a debugged replay's whole life: ptrace ties
/// a tracee to the thread that traces it, and checkpoints outlive the run that made them.
final class TracerWorker: @unchecked Sendable {
  /// A job, or nil to end the thread; handed across threads under the lock.
  private struct Job: @unchecked Sendable {
    let body: (() -> Void)?
  }

  private let queue = Mutex<[Job]>([])
  private let available = DispatchSemaphore(value: 0)
  private var handle: TracerThread.Handle?

  init(cpu: Int32?) {
    handle = TracerThread.start(pinnedTo: cpu) { [self] in
      while true {
        available.wait()
        guard let job = queue.withLock({ $0.removeFirst() }).body else { return }
        job()
      }
    }
  }

  func submit(_ job: @escaping () -> Void) {
    let job = Job(body: job)
    queue.withLock { $0.append(job) }
    available.signal()
  }

  /// Runs the jobs submitted, then ends the thread.
  func stop() {
    queue.withLock { $0.append(Job(body: nil)) }
    available.signal()
    handle?.join()
    handle = nil
  }
}
