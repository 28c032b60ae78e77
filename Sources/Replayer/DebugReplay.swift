import Dispatch
import Glibc
import LinuxTrace
import Synchronization
import TraceFormat

/// A replay under a debugger's control: it runs on its own pinned tracer thread and stops
/// where the debugger asks; every method here may be called from any one other thread (the
/// gdb server's) and runs its ptrace work on the tracer thread.
///
/// Going backwards replays the recording again from the start, silently, to the place
/// wanted (`ReplayDebugger+Seek.swift`): each such run is a new `ReplaySession`, with the
/// debugger's breakpoints, watchpoints and catchpoints taken over.
public final class DebugReplay: @unchecked Sendable {
  private let options: ReplayOptions
  private let start: DebugStart
  /// The debugged process, by its recorded pid.
  public let pid: Int32
  private var cpu: Int32?
  private var run: Run
  /// The one tracer thread of every run: the checkpoints' processes are its tracees.
  private var worker: TracerWorker?
  /// Automatic checkpoints (`--checkpoint-every`).
  private let checkpoints: CheckpointStore
  /// The current run's debugger, for `interrupt()` from the server's thread while a reverse
  /// command swaps runs.
  private let interruptible = Mutex<DebuggerReference?>(nil)
  /// A ^C came during a reverse command: it stops at the next place it reaches.
  private let reverseInterrupted = Atomic<Bool>(false)
  /// The last places found by single steps (`ladder`); `complete` when they run to the end
  /// of the thread's code before the event.
  private var lastLadder: (event: UInt64, tid: Int32, places: [ReplayPlace], complete: Bool)?

  /// `options.process` limits the replay to that process and its ancestry; `pid` is the
  /// process debugged (the root when nil).
  /// `checkpointEvery`: how far apart automatic checkpoints are (0: none), at most
  /// `checkpointLimit` kept.
  public init(
    options: ReplayOptions, pid: Int32, start: DebugStart, checkpointEvery: CheckpointSpacing = .events(5000), checkpointLimit: Int = 64
  ) throws(ReplayError) {
    self.options = options
    self.start = start
    self.pid = pid
    checkpoints = CheckpointStore(spacing: checkpointEvery, limit: checkpointLimit)
    run = try Run(options: options, pid: pid, start: start)
    run.debugger.checkpoints = checkpoints
    interruptible.withLock { $0 = DebuggerReference(debugger: run.debugger) }
  }

  /// Starts the replay and waits for its first stop.
  public func start(cpu: Int32?) -> Result<DebugStop, Error> {
    self.cpu = cpu
    let worker = TracerWorker(cpu: cpu)
    self.worker = worker
    return run.begin(on: worker, cpu: cpu, from: nil)
  }

  /// Lets the replay run, or step one thread, until its next stop.
  public func resume(_ how: DebugResume) -> Result<DebugStop, Error> {
    run.handoff.resume { [debugger = run.debugger] in
      // A ^C that came after the last stop was reported is old news.
      debugger.interruptRequested.store(false, ordering: .relaxed)
      switch how {
      case .continue: debugger.stepTid = nil
      case .step(let tid): debugger.stepTid = tid
      }
    }
  }

  /// Runs backwards: to the last stop a forward run from the start would have made before
  /// this place (`.continue`), or to the instruction before it (`.step`).
  public func reverse(_ how: DebugResume) -> Result<DebugStop, Error> {
    reverseInterrupted.store(false, ordering: .relaxed)
    guard let here = place() else { return .failure(ReplayError.setup("the replay has ended")) }
    do {
      switch how {
      case .continue: return .success(try reverseContinue(from: here))
      case .step(let tid): return .success(try reverseStep(from: here, thread: tid))
      }
    } catch let interrupted as ReverseInterrupted {
      return .success(interrupted.stop)
    } catch {
      // Back to where gdb was, so that the session can go on.
      _ = try? replayAgain(Seek(.reach, target: here))
      return .failure(error)
    }
  }

  /// Goes to `place`, which an earlier stop of this session reported (`monitor restart`).
  public func go(to place: ReplayPlace) -> Result<DebugStop, Error> {
    reverseInterrupted.store(false, ordering: .relaxed)
    let here = self.place()
    do { return .success(try reach(place, as: .signal(SIGTRAP, cause: nil))) } catch let interrupted as ReverseInterrupted {
      return .success(interrupted.stop)
    } catch {
      if let here { _ = try? replayAgain(Seek(.reach, target: here)) }
      return .failure(error)
    }
  }

  /// Writes every instruction the debugged process runs in events `from` up to `to` to
  /// `path`, one a line with its registers, then comes back here. Returns how many.
  public func logInstructions(from: UInt64, to: UInt64, path: String) -> Result<Int, Error> {
    reverseInterrupted.store(false, ordering: .relaxed)
    guard let here = place() else { return .failure(ReplayError.setup("the replay has ended")) }
    guard from < to else { return .failure(ReplayError.setup("the range \(from)-\(to) holds no event: FROM must be below TO")) }
    guard let file = fopen(path, "w") else {
      return .failure(ReplayError.setup("cannot write \(path): \(String(cString: strerror(errno)))"))
    }
    defer { fclose(file) }
    let seek = Seek(.log(from: from, to: to), target: nil)
    seek.log = file
    do {
      _ = try replayAgain(seek)
      _ = try replayAgain(Seek(.reach, target: here))
      return .success(seek.instructionsLogged)
    } catch let interrupted as ReverseInterrupted {
      _ = interrupted
      _ = try? replayAgain(Seek(.reach, target: here))
      return .failure(ReplayError.setup("interrupted after \(seek.instructionsLogged) instructions"))
    } catch {
      _ = try? replayAgain(Seek(.reach, target: here))
      return .failure(error)
    }
  }

  /// The automatic checkpoints: the event each copy is at, and the memory it holds of its own.
  public func checkpointCopies() -> [(eventIndex: UInt64, privateDirtyBytes: UInt64)] {
    checkpoints.checkpoints.map { ($0.eventIndex, $0.privateDirtyBytes) }
  }

  /// The resident memory of the debugged process (its main thread's real process), if any.
  public func residentBytes() -> UInt64? {
    guard let pid = try? onTracer({ [debugger = run.debugger] in debugger.mainTask?.realTgid }),
      let status = try? readProcFile("/proc/\(pid)/status"),
      let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
      let kib = UInt64(line.split(separator: " ").dropFirst().first ?? "")
    else { return nil }
    return kib * 1024
  }

  /// Where the replay is parked.
  public func place() -> ReplayPlace? { try? onTracer { [debugger = run.debugger] in debugger.parkedPlace } }

  private func reverseContinue(from here: ReplayPlace) throws -> DebugStop {
    // From the latest checkpoint before here; when nothing stops there, from an earlier one
    // up to where that run began, going back twice as many checkpoints each time: the work
    // stays within about twice the distance to the stop found.
    var target = here
    var last: (place: ReplayPlace, kind: DebugStop.Kind)?
    var stride = 1
    while last == nil {
      let from = checkpoints.latest(before: target, skipping: stride - 1)
      let (_, seek) = try replayAgain(Seek(.note, target: target), from: .some(from))
      last = seek.noted.last
      guard let from, last == nil else { break }
      target = from.place
      stride *= 2
    }
    guard let last else { return try historyBegin() }
    if case .signal(_, .watchpoint?) = last.kind {
      // The trap came after the access; going backwards, gdb stops before it.
      guard let before = try previousInstruction(last.place) else { return try historyBegin() }
      return try reach(before, as: last.kind)
    }
    return try reach(last.place, as: last.kind)
  }

  private func reverseStep(from here: ReplayPlace, thread: Int32) throws -> DebugStop {
    guard let before = try previousInstruction(here) else { return try historyBegin() }
    return try reach(before, as: .signal(SIGTRAP, cause: nil))
  }

  /// The place of `place`'s thread one instruction earlier, found by single-stepping the
  /// thread through the code it ran before that place's event (or, at the first instruction
  /// it ran for it, through the code before its previous event); nil at the start of history.
  private func previousInstruction(_ place: ReplayPlace) throws -> ReplayPlace? {
    switch place.stage {
    case .beforeEvent, .exec, .processExit, .recordingEnd: break
    case .code(let rip, let counted):
      // Step from the arrival before this one at the same address (a loop's previous pass)
      // rather than from where the thread began running for the event; a place gdb
      // reached forwards has no count yet: a run to it counts.
      var arrival = counted
      if arrival == nil, lastLadder.map({ l in l.places.contains { $0.isSame(as: place) } }) != true {
        _ = try replayAgain(Seek(.reach, target: place))
        if case .code(_, let found)? = self.place()?.stage { arrival = found }
      }
      let start = arrival.flatMap { $0 > 1 ? (rip: rip, arrival: $0 - 1) : nil }
      let places = try ladder(event: place.eventIndex, tid: place.tid, to: place, from: start)
      let end = places.firstIndex { $0.isSame(as: place) } ?? places.endIndex
      if let last = places[..<end].last(where: { !($0.rip == place.rip && $0.hasSameState(as: place)) }) { return last }
    case .syscallEntry, .syscallReturn, .signal, .threadExit:
      let places = try ladder(event: place.eventIndex, tid: place.tid, to: place)
      // (A signal's stop is where its code stopped: the place before that is the answer.)
      let end = places.firstIndex { $0.isSame(as: place) } ?? places.endIndex
      let earlier = places[..<end].filter { !($0.rip == place.rip && $0.hasSameState(as: place)) }
      if let last = earlier.last { return last }
    }
    guard let previousEvent = place.threadsLastEvent else { return nil }
    return try ladder(event: previousEvent, tid: place.tid, to: nil).last
  }

  /// The places of thread `tid`, one instruction apart, in the code it runs before event
  /// `event`, up to `place` (nil: to the end of that code), or further. The last ladder is
  /// kept: stepping backwards again and again walks down the same one.
  private func ladder(
    event: UInt64, tid: Int32, to place: ReplayPlace?, from start: (rip: UInt64, arrival: Int)? = nil
  ) throws -> [ReplayPlace] {
    if let last = lastLadder, last.event == event, last.tid == tid,
      place == nil ? last.complete : last.places.contains(where: { $0.isSame(as: place!) })
    {
      return last.places
    }
    let ladder = Seek(.ladder(event: event, tid: tid), target: place)
    ladder.ladderStart = start
    let (_, seek) = try replayAgain(ladder)
    var places = seek.noted.map(\.place)
    if let place, case .code = place.stage, let parked = self.place() { places.append(parked) }
    lastLadder = (event, tid, places, place == nil)
    return places
  }

  private func reach(_ place: ReplayPlace, as kind: DebugStop.Kind) throws -> DebugStop {
    let (stop, _) = try replayAgain(Seek(.reach, target: place))
    return DebugStop(kind: kind, pid: stop.pid, tid: stop.tid, eventIndex: stop.eventIndex)
  }

  /// Back at the first stop: gdb hears that there is no more history.
  private func historyBegin() throws -> DebugStop {
    let (stop, _) = try replayAgain(nil)
    return DebugStop(kind: .signal(SIGTRAP, cause: .historyBegin), pid: stop.pid, tid: stop.tid, eventIndex: stop.eventIndex)
  }

  /// Ends the current run and replays the recording again, parked at the first stop or at
  /// the seek's place; returns that stop and the seek with what it noted.
  /// `from`: the checkpoint to start from (nil inside: the program's start); by default the
  /// latest one before every place the seek needs.
  private func replayAgain(_ seek: Seek?, from chosen: Checkpoint?? = nil) throws -> (DebugStop, Seek) {
    let requests = (try? onTracer { [debugger = run.debugger] in debugger.requests }) ?? DebuggerRequests()
    run.end()
    let next: Run
    do { next = try Run(options: options, pid: pid, start: start) } catch { throw error }
    next.debugger.checkpoints = checkpoints
    next.debugger.requests = requests
    next.debugger.seek = seek
    next.session.echoSilenced = seek != nil
    next.debugger.armed = seek == nil || seek?.purpose == .note
    run = next
    interruptible.withLock { $0 = DebuggerReference(debugger: next.debugger) }
    // A ^C while the last run ran: this one stops at once.
    if reverseInterrupted.load(ordering: .relaxed) { next.debugger.interrupt() }
    let checkpoint: Checkpoint?
    if let chosen {
      checkpoint = chosen
    } else if let seek, let needed = seek.firstEventNeeded {
      checkpoint = checkpoints.latest(atOrBefore: needed)
    } else {
      checkpoint = nil
    }
    let began = monotonicSeconds()
    checkpoints.runBegins()
    let stop = try next.begin(on: worker!, cpu: cpu, from: checkpoint).get()
    let finished = try onTracer { [debugger = next.debugger] in (debugger.finishedSeek, debugger.parkedPlace) }
    if debugSeeks {
      printToStandardError(
        "[seek] \(seek.map { "\($0.purpose) to \($0.target.map { "\($0)" } ?? "the end")" } ?? "to the start") from "
          + "\(checkpoint.map { "the checkpoint at \($0.eventIndex)" } ?? "the start") in \(Int((monotonicSeconds() - began) * 1000)) ms: parked at "
          + "\(finished.1.map { "\($0)" } ?? "?"), noted \(seek?.noted.map { "\($0.place)" } ?? [])")
    }
    if let seek {
      guard let found = finished.0, found === seek, !found.interrupted else { throw ReverseInterrupted(stop: stop) }
      return (stop, found)
    }
    return (stop, Seek(.reach, target: nil))
  }

  /// Asks a running replay to stop at its next event (gdb's ^C).
  public func interrupt() {
    reverseInterrupted.store(true, ordering: .relaxed)
    interruptible.withLock { $0?.debugger.interrupt() }
  }

  /// Ends the replay (gdb killed the process, detached or left) and waits for its thread.
  /// A divergence found on the way is the failure.
  public func end() -> Result<ReplayOutcome, Error>? {
    run.end()
    if let worker {
      worker.submit { [checkpoints] in checkpoints.discardAll() }
      worker.stop()
      self.worker = nil
    }
    if case .failure(let error)? = run.outcome, error is DebugSessionEnded { return nil }
    return run.outcome
  }

  /// Runs `body` on the tracer thread.
  private func onTracer<T>(_ body: @escaping () throws -> T) throws -> T {
    var result: Result<T, Error>?
    guard run.handoff.perform({ result = Result { try body() } }) else {
      throw ReplayError.setup("the replay has ended")
    }
    return try result!.get()
  }

  /// The threads of the debugged process (recorded tids), its main thread first.
  public func threads() -> [Int32] { (try? onTracer { [debugger = run.debugger] in debugger.threads.map(\.recordedTid) }) ?? [] }

  public func state(ofThread tid: Int32) throws -> ThreadState {
    try onTracer { [session = run.session, debugger = run.debugger] in
      guard let task = session.tasks[tid], debugger.isDebugged(task) else { throw ReplayError.setup("no thread \(tid)") }
      return ThreadState(
        general: try session.currentRegisters(task), floatingPoint: try? task.tracee.floatingPointState(),
        extended: try? task.tracee.extendedState())
    }
  }

  public func readMemory(at address: UInt64, count: Int) throws -> [UInt8] {
    try onTracer { [debugger = run.debugger] in try debugger.readMemory(at: address, count: count) }
  }

  public func insertSoftwareBreakpoint(at address: UInt64) throws {
    try onTracer { [debugger = run.debugger] in try debugger.insertSoftwareBreakpoint(at: address) }
  }

  public func removeSoftwareBreakpoint(at address: UInt64) throws {
    try onTracer { [debugger = run.debugger] in try debugger.removeSoftwareBreakpoint(at: address) }
  }

  /// False when the debug registers are all in use.
  public func insertHardware(_ kind: HardwareWatchKind, at address: UInt64, length: Int) throws -> Bool {
    try onTracer { [debugger = run.debugger] in try debugger.insertHardware(kind, at: address, length: length) }
  }

  public func removeHardware(_ kind: HardwareWatchKind, at address: UInt64) throws {
    try onTracer { [debugger = run.debugger] in try debugger.removeHardware(kind, at: address) }
  }

  public func catchSyscalls(_ set: SyscallCatchSet) throws {
    try onTracer { [debugger = run.debugger] in debugger.catchSet = set }
  }
}

/// One replay of the recording from its start, on a tracer thread of its own.
private final class Run {
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

/// The ReplayDebugger a ^C goes to, handed across threads under a lock.
private struct DebuggerReference: @unchecked Sendable {
  let debugger: ReplayDebugger
}

/// A ^C stopped a reverse command at this stop.
private struct ReverseInterrupted: Error {
  let stop: DebugStop
}

/// One thread's registers: general, FXSAVE (x87, SSE) and XSAVE (AVX) images.
public struct ThreadState: Sendable {
  public var general: Registers
  public var floatingPoint: [UInt8]?
  public var extended: [UInt8]?
}

/// REWIND_DEBUG_SEEKS=1 prints every run of a reverse command: what it looked for, where it
/// parked and what it noted.
private let debugSeeks = getenv("REWIND_DEBUG_SEEKS") != nil

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
