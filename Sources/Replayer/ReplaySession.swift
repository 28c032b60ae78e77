import CSupport
import CodePatch
import Glibc
import LinuxTrace
import Syscalls
import TraceFormat

/// Options for replaying a trace without a debugger.
public struct ReplayOptions: Sendable {
  public var traceDirectory: String
  /// Echo what the program wrote to fds 1 and 2, so a replay looks like the original run.
  public var echoOutput: Bool
  /// Replay only this recorded process (and its ancestors up to the fork that made it).
  public var process: Int32?
  /// `rewind inject`: change one call's result. After it, a difference from the recording
  /// is the program noticing: the replay stops there with the processes kept, stopped
  /// where they were, for `goLive`.
  public var injection: Injection?
  public init(traceDirectory: String, echoOutput: Bool, process: Int32? = nil, injection: Injection? = nil) {
    self.injection = injection
    self.traceDirectory = traceDirectory
    self.echoOutput = echoOutput
    self.process = process
  }
}

public struct ReplayOutcome: Sendable {
  public var eventsReplayed: UInt64
  /// How the recorded root process (or the one replayed alone) ended; nil when the
  /// recording stops before it did.
  public var exitStatus: ExitStatus?
  /// The trace ends before its processes did (the recorder was killed).
  public var recordingEndedEarly: Bool
}

/// Replays a recorded process tree to its end, emulating what it cannot compute itself.
///
/// Input and I/O calls are not performed: replay stops the tracee at their entry with
/// PTRACE_SYSEMU and writes the recorded result and memory. Calls that shape the address
/// space, the process tree or signal state are performed for real, with PTRACE_SYSCALL, and
/// their results checked; forks return the recorded pids. Events are replayed one at a time
/// in trace order, whichever process they belong to; every event compares registers with
/// the recording.
public final class ReplaySession {
  let options: ReplayOptions
  let reader: TraceReader
  let cursor: EventCursor
  /// Replayed processes by recorded pid.
  var tasks: [Int32: ReplayTask] = [:]
  var rootTid: Int32 = 0
  /// What to replay: every process, or one and its ancestry.
  let scope: ReplayScope
  /// Saved files already opened, by content hash.
  var savedFiles: [String: Int32] = [:]
  /// Passes through a code point's instruction with other registers before the right one: a
  /// measure of how ambiguous the recorded code points were. Exact for points reached with
  /// the hardware breakpoint. A compare stub rejects passes inside the tracee without a
  /// stop, so for points it reached this counts the two passes the breakpoint watched
  /// before the stub went in, plus the stub's matches that the tracer then rejected (same
  /// general registers and flags, other fs_base, gs_base or segments); not the rest.
  public internal(set) var codePointPassesRejected = 0
  /// Preemptions and asynchronous signals replayed at their code points.
  public internal(set) var codePointsReached = 0
  /// Of `codePointsReached`, those found by an in-process compare stub (the rest were
  /// there already, or were found with the hardware breakpoint).
  public internal(set) var codePointsReachedByStub = 0
  /// Fault injection's description of where a live thread met a fatal signal
  /// (`InjectionRun.run`).
  var describeCrash: ((Int32, [UInt64]) -> String?)?
  /// The work of reverse execution's runs (`ReverseCost`): passes through an instruction
  /// counted by a counting stub in the tracee, traps of a breakpoint that counted or
  /// watched passes, and single steps.
  var passesCountedInTracee = 0
  var breakpointTraps = 0
  var singleSteps = 0
  /// A `syscall` instruction found in each process (by real pid), for injected calls.
  var syscallInstructions: [Int32: UInt64] = [:]
  /// Code points that needed a compare stub, with the registers that changed from pass to
  /// pass there (`runToCodePoint`).
  var hotLoopPoints: [UInt64: Set<Int>] = [:]
  /// Chooses compare-stub sites, and remembers the code around them (`PatchSiteChooser`).
  var patchSiteChooser = PatchSiteChooser()
  /// Each process's compare-stub page (by real pid), kept mapped from one code point to the
  /// next until the program's own calls could meet it (`releaseStubPage`).
  var stubPages: [Int32: StubPage] = [:]
  /// Processes (by real pid) one of whose threads called exit_group: the others are dying.
  var exitingProcesses: Set<Int32> = []
  /// Watches searches for code points without a debugger (`CodePointWatch`).
  var codePointWatch: CodePointWatch?
  var stallWatch: StallWatch?
  /// Each process's code mappings (`codeMapping`).
  var codeMappings: [Int32: [MapsEntry]] = [:]
  /// Mapped files already compared with their saved copies.
  var fileComparisons = FileComparisons()
  /// Processes that share their memory with another (vfork, clone with CLONE_VM): they
  /// keep no stub page, since the other's calls would not release it.
  var addressSpaces = SharedAddressSpaces()
  /// The debugger attached to this replay, if any.
  var debugger: ReplayDebugger?
  /// The program's output is not echoed: a debugger's seek replays again what was shown
  /// before (reverse execution).
  var echoSilenced = false
  /// Where the trace was before the event being replayed (a checkpoint's position).
  var eventStart: TraceReader.Position?
  /// Where the session is in its life: `start`, then `step` until it is finished.
  private var progress = Progress.notStarted
  /// How the root (or the process replayed alone) ended, once its exit has replayed.
  var rootStatus: ExitStatus?
  /// The process replayed alone has exited: what comes after it is not replayed.
  private var scopeEnded = false
  /// Runs of buffered calls are served in the tracee without a debugger
  /// (`feedBufferedRun`); REWIND_DEBUG_NO_BUFFER_FEED=1 makes every one stop, to compare.
  var feedsBufferedCalls = getenv("REWIND_DEBUG_NO_BUFFER_FEED") == nil
  /// Buffered calls the library served from its feed, without a stop.
  public internal(set) var bufferedCallsServedInTracee = 0
  /// The injected call, as changed, once replay has given it (`ReplayOptions.injection`).
  public internal(set) var injectedEvent: SyscallEvent?
  /// The task and stop at which replay last found something the recording does not have.
  var unexpectedStop: (task: ReplayTask, status: WaitStatus)?

  private enum Progress {
    case notStarted
    case replaying
    case finished(ReplayOutcome)
    case failed(Error)
  }

  public init(options: ReplayOptions) throws(ReplayError) {
    self.options = options
    do { reader = try TraceReader(directory: options.traceDirectory) } catch { throw .trace(error) }
    cursor = EventCursor(reader: reader)
    let warnings = TraceCompatibility.warnings(
      for: reader.header, path: options.traceDirectory, cpuModel: HostInfo.cpuModel(),
      syscallTableHash: SyscallTable.tableHash)
    for warning in warnings { printToStandardError("rewind: warning: " + warning) }
    if let target = options.process {
      let table: ProcessTable
      do { table = try ProcessTable(reader: try TraceReader(directory: options.traceDirectory)) } catch { throw .trace(error) }
      guard table.process(target) != nil else {
        throw .setup(
          "the recording has no process \(target); its processes are \(table.processes.map { String($0.pid) }.joined(separator: ", ")) (see `rewind ps`)")
      }
      guard table.threads[target] == nil else {
        throw .setup("\(target) is a thread of process \(table.processOf(target)); replay that process with --process \(table.processOf(target))")
      }
      scope = ReplayScope(ancestry: table.ancestry(of: target), threads: { table.threads(of: $0) })
    } else {
      scope = ReplayScope(ancestry: nil)
    }
  }

  deinit { for fd in savedFiles.values { close(fd) } }

  /// Replays to the end of the recording. Throws a `Divergence` when replay and recording part.
  public func run(cpu: Int32?) throws -> ReplayOutcome {
    try run(cpu: cpu, from: nil)
  }

  /// `run`, from a copy of `checkpoint` instead of the program's start.
  func run(cpu: Int32?, from checkpoint: Checkpoint?) throws -> ReplayOutcome {
    // Replayed parents never really wait for their children; orphans come to us to be reaped.
    _ = rewind_become_subreaper()
    defer { reapOrphans() }
    if let checkpoint { try start(from: checkpoint) } else { try start(cpu: cpu) }
    while true {
      if case .finished(let outcome) = try step() { return outcome }
    }
  }

  /// Replays the next event of the trace, or ends the replay when there is none left to
  /// replay; `start(cpu:)` must have succeeded. After `.finished` it returns the same
  /// outcome again; after it threw, it throws the same error again (every replayed process
  /// was killed). Call it on the thread that called `start`. `run` is this in a loop, with
  /// the session's process made the subreaper that collects the replayed processes' orphans.
  public func step() throws -> ReplayStep {
    switch progress {
    case .notStarted: preconditionFailure("ReplaySession.step() before start(cpu:) succeeded")
    case .finished(let outcome): return .finished(outcome)
    case .failed(let error): throw error
    case .replaying: break
    }
    do {
      eventStart = cursor.position
      guard !scopeEnded, let event = try cursor.next() else { return .finished(try finish()) }
      return try replay(event) ? .replayed(event) : .passedOver(event)
    } catch {
      progress = .failed(error)
      // After an injection, a difference is the program's reaction: `goLive` takes over.
      if injectedEvent == nil { killAll() }
      throw error
    }
  }

  /// Ends a replay that `goLive` will not continue.
  public func killRemainingProcesses() { killAll() }

  /// Replays one event read from the trace; false when it is not to be replayed.
  private func replay(_ event: TraceEvent) throws -> Bool {
    guard scope.replays(event) else { return false }
    if debugStops { printToStandardError("[replay] event \(event.index) of \(event.tid)") }
    try debugger?.beforeEvent(event)
    let task = try task(for: event)
    if isCutShortByExitGroup(event, task) { return false }
    // Once the event has replayed, the mask the debugger knows stays known only after a call
    // that leaves it alone. (A code point or a trapped RDTSC is found through traps, whose
    // forced signals can unblock themselves in the mask.)
    defer {
      if case .syscall(let e) = event, !callsThatMayChangeSignalMasks.contains(e.number) {} else { task.knownSignalMask = nil }
    }
    switch event {
    case .syscall(let first):
      let e = try feedBufferedRun(startingWith: first, task)
      try replaySyscall(e, task)
      noteBufferRegistration(e, task)
      task.insideSyscall = false
      if let debugger, e.returns, task.pendingForkResult == nil, tasks[e.tid] != nil {
        try debugger.syscallReturned(e, task)
      }
      if scope.isLastEvent(e) {
        // This ancestor has made the process on the path; the rest of it is not replayed.
        task.tracee.killAndReap()
        tasks[e.tid] = nil
      }
    case .signal(let e): try replaySignal(e, task)
    case .rdtsc(let e): try replayTimeStamp(e, task)
    case .preemption(let e): try replayPreemption(e, task)
    case .memoryWrite(let e):
      for chunk in e.chunks { try task.tracee.writeMemory(at: chunk.address, bytes: chunk.bytes) }
    case .exit(let e):
      try replayExit(e, task)
      tasks[e.tid] = nil
      try debugger?.processExited(e.status, task)
      if e.tid == scope.target ?? rootTid {
        rootStatus = e.status
        if scope.target != nil { scopeEnded = true }  // what comes after is not replayed
      }
    case .exec(let e):
      throw Divergence(
        eventIndex: e.index, tid: e.tid, activity: "exec",
        differences: ["an exec event without its execve call"])
    }
    return true
  }

  /// Ends a replay that has nothing more to replay.
  private func finish() throws -> ReplayOutcome {
    try debugger?.recordingEnded()
    // The recorder was killed (or stopped by an error) when the root has not exited:
    // everything recorded has replayed.
    let endedEarly = rootStatus == nil
    killAll()
    let outcome = ReplayOutcome(
      eventsReplayed: cursor.consumed, exitStatus: rootStatus, recordingEndedEarly: endedEarly)
    progress = .finished(outcome)
    return outcome
  }

  private func task(for event: TraceEvent) throws -> ReplayTask {
    guard let task = tasks[event.tid] else {
      throw Divergence(
        eventIndex: event.index, tid: event.tid, activity: "event of process \(event.tid)",
        differences: ["the trace has an event of process \(event.tid), which replay has not created"])
    }
    return task
  }

  /// The kernel maps the program's loader (PT_INTERP) from the file system, not from the
  /// trace. When the file there is no longer the one recorded, replay mounts the saved copy
  /// over it, in a mount namespace of the replayed processes only.
  private func changedLoaders(_ exec: ExecEvent) throws -> [(source: String, target: String)] {
    var mounts: [(source: String, target: String)] = []
    var seen: Set<String> = [exec.executable.originalPath]
    for mapping in exec.mappings {
      guard let file = mapping.file, mapping.name.hasPrefix("/"), !seen.contains(mapping.name) else { continue }
      seen.insert(mapping.name)
      let saved = reader.savedFilePath(for: file)
      guard access(saved, R_OK) == 0 else {
        throw ReplayError.trace(.missingFile(path: saved, hash: file.contentHash, originalPath: file.originalPath))
      }
      if fileComparisons.sameContents(mapping.name, saved) { continue }
      guard access(mapping.name, F_OK) == 0 else {
        throw ReplayError.setup(
          "\(mapping.name), which the kernel loads for the program, is gone since the recording. Restore it "
            + "(the trace holds it as \(saved)) to replay.")
      }
      mounts.append((saved, mapping.name))
    }
    return mounts
  }

  private func killAll() {
    Tracee.killAndReapAll(tasks.values.map(\.tracee))
    tasks = [:]
  }

  func reapOrphans() {
    var status: Int32 = 0
    while waitpid(-1, &status, WNOHANG | Int32(bitPattern: 0x4000_0000)) > 0 {}
  }

  /// Spawns the saved executable with the recorded argv and environment and replays the
  /// first execve, which the recording starts with; then `step` replays the rest. `cpu` is
  /// the one the calling thread, which must do all of this session's ptrace work, is
  /// pinned to.
  public func start(cpu: Int32?) throws {
    guard case .notStarted = progress else {
      preconditionFailure("ReplaySession.start(cpu:) called twice")
    }
    do {
      try startRoot(cpu: cpu)
      progress = .replaying
    } catch {
      progress = .failed(error)
      throw error
    }
  }

  /// Starts with fresh copies of `checkpoint`'s processes, where and as they were copied.
  private func start(from checkpoint: Checkpoint) throws {
    let snapshot = checkpoint.session
    do {
      for process in snapshot.processes {
        guard let copied = checkpoint.pids[process.recordedPid] else { throw ReplayError.setup("the checkpoint lost a copy") }
        let source = ReplayTask(recordedTid: process.recordedPid, realTid: copied)
        guard let pid = try forkCopy(of: source) else {
          throw ReplayError.setup("the checkpoint at event \(checkpoint.eventIndex) could not be copied")
        }
        let leader = ReplayTask(recordedTid: process.recordedPid, realTid: pid)
        tasks[process.recordedPid] = leader
        try restore(process.leader, in: leader, robustListOnly: true)
        // Shared with the live processes of the run before and with every copy: as it was.
        for mapping in process.sharedMemory { try leader.tracee.writeMemory(at: mapping.start, bytes: mapping.bytes) }
        for thread in process.otherThreads { tasks[thread.recordedTid] = try recreateThread(thread, in: leader) }
        syscallInstructions[pid] = process.syscallInstruction
        codeMappings[pid] = process.codeMappings
      }
    } catch {
      killAll()
      progress = .failed(error)
      throw error
    }
    rootTid = snapshot.rootTid
    rootStatus = snapshot.rootStatus
    hotLoopPoints = snapshot.hotLoopPoints
    patchSiteChooser = snapshot.patchSiteChooser
    try cursor.seek(to: snapshot.position)
    try debugger?.resume(from: checkpoint.debugger)
    progress = .replaying
  }

  private func startRoot(cpu: Int32?) throws {
    guard let first = try cursor.peek() else {
      throw ReplayError.setup(
        "the trace at \(options.traceDirectory) holds no events: the recorder stopped before it wrote its first frame"
          + (cursor.endedEarly ? " (it was killed)" : ""))
    }
    guard case .syscall(let execve)? = try cursor.next(), execve.number == 59,
      case .exec(let exec)? = try cursor.peek()
    else {
      throw ReplayError.setup(
        "the trace at \(options.traceDirectory) does not start with the program's execve (it starts with event \(first.index)); it cannot be replayed")
    }
    let executablePath = reader.savedFilePath(for: exec.executable)
    guard access(executablePath, R_OK) == 0 else {
      throw ReplayError.trace(.missingFile(path: executablePath, hash: exec.executable.contentHash, originalPath: exec.executable.originalPath))
    }
    let devNull = open("/dev/null", O_RDONLY | O_CLOEXEC)
    defer { close(devNull) }
    let bindMounts = try changedLoaders(exec)
    let pid: Int32
    do {
      pid = try TraceeSpawner.spawn(
        path: executablePath, arguments: exec.argv, environment: exec.envp, cpu: cpu, standardInput: devNull,
        disableCoreDumps: true, bindMounts: bindMounts, ignoredSignals: reader.header.ignoredSignals)
    } catch {
      throw ReplayError.setup("cannot start the replay process: \(error)")
    }
    let root = ReplayTask(recordedTid: execve.tid, realTid: pid)
    rootTid = execve.tid
    tasks[execve.tid] = root
    do {
      let first = try waitForTracee(pid)
      guard case .signalStop(.stop) = first else {
        if first == .exited(code: 125) && !bindMounts.isEmpty {
          throw ReplayError.setup(
            "\(bindMounts.map(\.target).joined(separator: ", ")) changed since the recording, and replay could not "
              + "mount the recorded copy over it in a private mount namespace (that needs root or CAP_SYS_ADMIN). "
              + "Replay as root, or restore the recorded version from \(bindMounts.map(\.source).joined(separator: ", ")).")
        }
        throw ReplayError.setup("the replay process did not reach its first stop (\(first))")
      }
      try root.tracee.setOptions([.traceSysGood, .traceExec, .traceExit, .exitKill, .traceFork, .traceVfork, .traceClone])
      try performExec(execve, root, checkEntry: false)
    } catch {
      root.tracee.killAndReap()
      tasks = [:]
      throw error
    }
  }
}

/// What one `ReplaySession.step()` did.
public enum ReplayStep: Sendable {
  /// This event of the trace was replayed (an execve's step also replays the exec event
  /// that follows it).
  case replayed(TraceEvent)
  /// This event was read but not replayed: it belongs to a process outside the replay's
  /// scope, or to a thread that its process's exit_group cut short.
  case passedOver(TraceEvent)
  /// The replay is over: the trace has ended, or the process replayed alone has exited.
  /// Every replayed process has been killed.
  case finished(ReplayOutcome)
}

/// System calls after which a thread's signal mask may differ (the debugger reads it again):
/// rt_sigprocmask, rt_sigreturn, rt_sigtimedwait, rt_sigsuspend, restart_syscall, execve,
/// pselect6, ppoll, epoll_pwait, execveat, io_pgetevents, epoll_pwait2 (those with a mask of
/// their own set it for the call).
private let callsThatMayChangeSignalMasks: Set<Int> = [14, 15, 128, 130, 219, 59, 270, 271, 281, 322, 333, 441]
