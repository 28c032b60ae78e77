import Foundation
import Dispatch
import Glibc
import LinuxTrace
import Synchronization
import TraceFormat

/// A replay under a debugger's control: it runs on its own pinned tracer thread and stops
/// where the debugger asks; every method here may be called from any one other thread (the
/// gdb server's) and runs its ptrace work on the tracer thread.
///
/// Going backwards replays the recording again, silently, from a checkpoint before the place
/// wanted or from the start (`DebugReplay+Reverse.swift`): each such run is a new
/// `ReplaySession`, with the debugger's breakpoints, watchpoints and catchpoints taken over.
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
  let checkpoints: CheckpointStore
  /// The current run's debugger, for `interrupt()` from the server's thread while a reverse
  /// command swaps runs.
  private let interruptible = Mutex<DebuggerReference?>(nil)
  /// A ^C came during a reverse command: it stops at the next place it reaches.
  let reverseInterrupted = Atomic<Bool>(false)
  /// The last places found by single steps (`ladder`); `complete` when they run to the end
  /// of the thread's code before the event.
  var lastLadder: LastLadder?
  /// The work of the runs that ended (`work()` adds the current one's).
  private var endedRunsWork = ReplayWork()

  /// `options.process` limits the replay to that process and its ancestry; `pid` is the
  /// process debugged (the root when nil).
  /// `checkpointEvery`: how far apart automatic checkpoints are (0: none), at most
  /// `checkpointLimit` kept. `start` is where gdb first stops; `historyStart` (by default the
  /// same) where going backwards ends: `-g EVENT` first stops at the event, but the history
  /// before it stays reachable.
  public init(
    options: ReplayOptions, pid: Int32, start: DebugStart, historyStart: DebugStart? = nil, checkpointEvery: CheckpointSpacing = .events(5000),
    checkpointLimit: Int = 64
  ) throws(ReplayError) {
    self.options = options
    self.start = historyStart ?? start
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

  /// The automatic checkpoints: the event each copy is at, and the memory it holds of its own.
  public func checkpointCopies() -> [(eventIndex: UInt64, privateDirtyBytes: UInt64)] {
    checkpoints.checkpoints.map { ($0.eventIndex, $0.privateDirtyBytes) }
  }

  /// The real process standing in for the debugged one now (it changes as going backwards
  /// replays again), if it is alive.
  public func realPid() -> Int32? { try? onTracer({ [debugger = run.debugger] in debugger.mainTask?.realTgid }) ?? nil }

  /// The resident memory of the debugged process (its main thread's real process), if any.
  public func residentBytes() -> UInt64? {
    guard let pid = realPid(),
      let status = try? readProcFile("/proc/\(pid)/status"),
      let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
      let kib = UInt64(line.split(separator: " ").dropFirst().first ?? "")
    else { return nil }
    return kib * 1024
  }

  /// What the replays under this debugger did since it began: how reverse commands went back.
  public func work() -> ReplayWork {
    var total = endedRunsWork
    if let current = try? onTracer({ [session = run.session] in ReplayWork(session) }) { total.add(current) }
    return total
  }

  /// Where the replay is parked.
  public func place() -> ReplayPlace? { try? onTracer { [debugger = run.debugger] in debugger.parkedPlace } }

  /// Ends the current run and replays the recording again, parked at the first stop or at
  /// the seek's place; returns that stop and the seek with what it noted.
  /// `from`: the checkpoint to start from (nil inside: the program's start); by default the
  /// latest one before every place the seek needs.
  func replayAgain(_ seek: Seek?, from chosen: Checkpoint?? = nil) throws -> (DebugStop, Seek) {
    let (requests, work) =
      (try? onTracer { [debugger = run.debugger, session = run.session] in (debugger.requests, ReplayWork(session)) })
      ?? (DebuggerRequests(), ReplayWork())
    endedRunsWork.add(work)
    endedRunsWork.runs += 1
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

  /// The executable mapping of the dynamic loader in the debugged process (whose lazy
  /// resolver jumps to each function it binds), nil when there is none.
  func loaderCode() -> Range<UInt64>? {
    try? onTracer { [debugger = run.debugger, session = run.session] () -> Range<UInt64>? in
      // The loader's base is AT_BASE in the process's auxiliary vector (its file is the
      // trace's saved copy, under another name).
      guard let task = session.tasks.values.first(where: { debugger.isDebugged($0) }), let maps = try? readMaps(of: task.realTid),
        let auxv = FileManager.default.contents(atPath: "/proc/\(task.realTid)/auxv")
      else { return nil }
      let words = stride(from: 0, to: auxv.count - 15, by: 16).map { offset in
        (auxv.subdata(in: offset..<offset + 8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) },
         auxv.subdata(in: offset + 8..<offset + 16).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
      }
      guard let base = words.first(where: { $0.0 == 7 })?.1, base != 0, let file = maps.first(where: { $0.start == base })?.name, !file.isEmpty else {
        return nil
      }
      return maps.first { $0.isExecutable && $0.name == file }.map { $0.start..<$0.end }
    }
  }

  public func readMemory(at address: UInt64, count: Int) throws -> [UInt8] {
    try onTracer { [debugger = run.debugger] in try debugger.readMemory(at: address, count: count) }
  }

  /// `condition`: the stop is reported only where it holds (gdb's conditions, evaluated here).
  public func insertSoftwareBreakpoint(at address: UInt64, condition: BreakpointCondition? = nil) throws {
    try onTracer { [debugger = run.debugger] in try debugger.insertSoftwareBreakpoint(at: address, condition: condition) }
  }

  public func removeSoftwareBreakpoint(at address: UInt64) throws {
    try onTracer { [debugger = run.debugger] in try debugger.removeSoftwareBreakpoint(at: address) }
  }

  /// False when the debug registers are all in use.
  public func insertHardware(_ kind: HardwareWatchKind, at address: UInt64, length: Int, condition: BreakpointCondition? = nil) throws -> Bool {
    try onTracer { [debugger = run.debugger] in try debugger.insertHardware(kind, at: address, length: length, condition: condition) }
  }

  public func removeHardware(_ kind: HardwareWatchKind, at address: UInt64) throws {
    try onTracer { [debugger = run.debugger] in try debugger.removeHardware(kind, at: address) }
  }

  public func catchSyscalls(_ set: SyscallCatchSet) throws {
    try onTracer { [debugger = run.debugger] in debugger.catchSet = set }
  }
}

/// The ReplayDebugger a ^C goes to, handed across threads under a lock.
private struct DebuggerReference: @unchecked Sendable {
  let debugger: ReplayDebugger
}

/// One thread's registers: general, FXSAVE (x87, SSE) and XSAVE (AVX) images.
public struct ThreadState: Sendable {
  public var general: Registers
  public var floatingPoint: [UInt8]?
  public var extended: [UInt8]?
}

/// REWIND_DEBUG_SEEKS=1 prints every run of a reverse command: what it looked for, where it
/// parked and what it noted.
let debugSeeks = getenv("REWIND_DEBUG_SEEKS") != nil


/// The places the last ladder found, one instruction apart, in the code thread `tid` ran
/// before event `event`, from `start` (nil: from where it began running for the event);
/// `complete` when they run to the end of that code.
struct LastLadder {
  var event: UInt64
  var tid: Int32
  var start: LadderStart?
  var places: [ReplayPlace]
  var complete: Bool
}

/// Where a ladder starts stepping: the `arrival`th pass of its thread through `rip` since it
/// began running for the event. `guessed`: the thread may never pass there (the run to it
/// then fails), so it is found with a hardware breakpoint, never by patching code that may
/// not begin an instruction.
struct LadderStart: Equatable {
  var rip: UInt64
  var arrival: Int
  var guessed = false
}

/// How much a debugged replay worked to go where gdb asked, backwards above all: runs of the
/// recording again (from a checkpoint or the start), instructions single-stepped, traps of
/// breakpoints that counted or watched passes, and passes a counting stub counted in the
/// tracee without a stop (`monitor work`).
public struct ReplayWork: Sendable, Equatable {
  public var runs = 0
  public var singleSteps = 0
  public var breakpointTraps = 0
  public var passesCountedInTracee = 0

  public init() {}

  init(_ session: ReplaySession) {
    singleSteps = session.singleSteps
    breakpointTraps = session.breakpointTraps
    passesCountedInTracee = session.passesCountedInTracee
  }

  mutating func add(_ other: ReplayWork) {
    runs += other.runs
    singleSteps += other.singleSteps
    breakpointTraps += other.breakpointTraps
    passesCountedInTracee += other.passesCountedInTracee
  }
}
