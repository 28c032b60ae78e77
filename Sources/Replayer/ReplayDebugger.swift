import Glibc
import LinuxTrace
import Synchronization
import TraceFormat

/// DR6 bits: DR0 hit (the replay's own code-point breakpoint), DR1-DR3 hits (the
/// debugger's).
private let dr6HitDR0: UInt64 = 0x1
private let dr6HitsDebugger: UInt64 = 0xe
/// si_code of the SIGTRAP an int3 raises.
private let siKernel: Int32 = 0x80

/// The debugger's side of a replay, on the tracer thread: breakpoints, single steps and
/// caught system calls in the debugged process, and the stops they cause.
///
/// The replay calls its hooks as it goes; each hook that has something to report parks the
/// replay in `TracerHandoff.report` until gdb resumes. The replay itself stays unaware of
/// breakpoints: they are traps it never sees, claimed in `claimTrap`.
///
/// With a `seek`, the replay runs silently to a place an earlier replay of the same trace
/// reached (reverse execution), noting what it was asked to note on the way
/// (`ReplayDebugger+Seek.swift`); it parks there, and is an ordinary debugged replay again.
final class ReplayDebugger {
  unowned var session: ReplaySession!
  /// The debugged process, by its recorded pid.
  let pid: Int32
  let start: DebugStart
  let handoff: TracerHandoff
  private(set) var started = false
  /// gdb killed, detached or went away: the next report ends the replay.
  var terminate = false
  var requests = DebuggerRequests()
  /// Whether gdb's requests are in force. A seek that only looks for a place leaves them
  /// out until it parks there.
  var armed = true
  /// Int3s in memory (or lifted for a vfork child): address and the byte each replaced.
  var inserted: [UInt64: UInt8] = [:]
  /// Breakpoints of a seek's, counting arrivals at its target's address.
  var internalBreakpoints: Set<UInt64> = []
  /// vfork children sharing the debugged process's memory (its threads may each have
  /// one): the breakpoints' original bytes are in place until the last vfork returns.
  private var vforkChildrenSharingMemory = 0
  var breakpointsLifted: Bool { vforkChildrenSharingMemory > 0 }
  var catchSet: SyscallCatchSet {
    get { requests.catchSet }
    set { requests.catchSet = newValue }
  }
  /// The search for a place, while the replay runs to it without parking.
  var seek: Seek?
  /// The last seek that parked: what it noted on the way.
  var finishedSeek: Seek?
  /// A thread stepping over an int3 of ours at this address, which is put back after the
  /// step (a seek goes on past breakpoints without gdb, which would lift them itself).
  var steppingOver: (tid: Int32, address: UInt64)?
  /// An execute breakpoint just trapped here for this thread: an int3 at the same address
  /// traps next for the same arrival.
  private var arrivalInProgress: (tid: Int32, address: UInt64)?
  /// Where the replay is parked.
  private(set) var parkedPlace: ReplayPlace?
  /// The event being replayed, and each thread's last event replayed before it.
  private var eventInProgress: (tid: Int32, index: UInt64)?
  private var previousEventMapped = true
  var lastEventOfThread: [Int32: UInt64] = [:]
  /// The automatic checkpoints of every run of this debugged replay.
  var checkpoints: CheckpointStore?
  /// The last event could have mapped or unmapped memory (code where breakpoints go): a
  /// system call other than the few that never do, or the start of a run.
  private(set) var mappingsMayHaveChanged = true
  /// The thread gdb asked to step.
  var stepTid: Int32?
  /// That thread's step ran into an event (a system call, a trapped RDTSC); the step is done
  /// once the event has replayed.
  var stepEndsAfterEvent: Int32?
  let interruptRequested = Atomic<Bool>(false)
  /// The task the replay is waiting for while it runs (real tid and tgid, 0 when none), and
  /// how many SIGSTOPs a ^C sent that have not come back yet: shared with the server's
  /// thread, which sends them.
  private let running = Mutex<(tid: Int32, tgid: Int32, stopsSent: Int)>((0, 0, 0))
  /// The next event to replay: `monitor when`.
  private(set) var nextEventIndex: UInt64 = 0
  private(set) var processEnded = false

  init(pid: Int32, start: DebugStart, handoff: TracerHandoff) {
    self.pid = pid
    self.start = start
    self.handoff = handoff
  }

  func isDebugged(_ task: ReplayTask) -> Bool { task.recordedTgid == pid }

  /// The tasks of the debugged process, its main thread first.
  var threads: [ReplayTask] {
    session.tasks.values.filter { isDebugged($0) && !$0.isExiting && $0.exitedStatus == nil }
      .sorted { ($0.recordedTid != pid ? 1 : 0, $0.recordedTid) < ($1.recordedTid != pid ? 1 : 0, $1.recordedTid) }
  }

  var mainTask: ReplayTask? { session.tasks[pid] ?? threads.first }

  // MARK: reporting

  /// Copies the replayed process here, with gdb's int3s out of the copy.
  private func takeCheckpoint(before event: TraceEvent, _ state: DebuggerSnapshot, into store: CheckpointStore) throws {
    // Thinning keeps checkpoints dense about where the user will be: here in a forward run,
    // at the place a seek goes to.
    store.focus = seek?.firstEventNeeded ?? event.index
    let lifted = !breakpointsLifted ? inserted : [:]
    if let task = mainTask { for (address, original) in lifted { try task.tracee.writeMemory(at: address, bytes: [original]) } }
    defer {
      if let task = mainTask { for address in lifted.keys { try? task.tracee.writeMemory(at: address, bytes: [int3]) } }
    }
    let began = monotonicSeconds()
    let checkpoint = try session.checkpoint(
      eventIndex: event.index, of: event.tid, debuggerState: state,
      sharedMemoryBudget: max(0, Checkpoint.sharedMemoryLimit - store.sharedBytesHeld), place: { self.place(of: $0, at: .beforeEvent) })
    let copied = monotonicSeconds()
    if let checkpoint { store.add(checkpoint) }
    if debugStops {
      printToStandardError(
        "[checkpoint] event \(event.index): \(checkpoint.map { "pids \($0.pids.values.sorted())" } ?? "none") in \(Int((copied - began) * 1e6)) µs, "
          + "kept \(store.checkpoints.count) in \(Int((monotonicSeconds() - copied) * 1e6)) µs")
    }
  }

  /// A run that starts from a checkpoint: the debugger is where it was when the copy was made.
  func resume(from state: DebuggerSnapshot) throws {
    lastEventOfThread = state.lastEventOfThread
    eventInProgress = state.eventInProgress
    nextEventIndex = state.nextEventIndex
    started = true
    if armed { try arm(true) }
  }

  /// A stop at `stage` of `task`. Without a seek it parks the replay for gdb to see, until
  /// gdb resumes it, when gdb asked for such stops (`reportable`); a seek decides instead
  /// (`seekDecides`). `forced`: it parks whatever a seek looks for (a ^C). True when it
  /// parked.
  @discardableResult
  func report(_ kind: DebugStop.Kind, _ task: ReplayTask, at stage: ReplayPlace.Stage, reportable: Bool = true, forced: Bool = false) throws -> Bool {
    if terminate { throw DebugSessionEnded() }
    if let seek {
      // Reading the registers and the stack at every call's entry and return would slow a
      // seek by a third: only a stop the seek may care about is a place.
      guard forced || seek.mayCare(eventIndex: nextEventIndex, tid: task.recordedTid, stage: stage, reportable: reportable) else {
        if seek.hasPassedItsTarget(eventIndex: nextEventIndex, tid: task.recordedTid, stage: stage) {
          throw seek.missed(at: place(of: task, at: stage))
        }
        return false
      }
      let place = self.place(of: task, at: stage)
      let parks = try forced || seekDecides(place, kind, reportable: reportable)
      guard parks else { return false }
      try endSeek()
      try park(kind, task, place)
      return true
    }
    guard reportable || forced else { return false }
    try park(kind, task, place(of: task, at: stage))
    return true
  }

  /// Parks the replay with `kind` for gdb to see, until gdb resumes it.
  func park(_ kind: DebugStop.Kind, _ task: ReplayTask, _ place: ReplayPlace) throws {
    let stop = DebugStop(kind: kind, pid: pid, tid: task.recordedTid, eventIndex: nextEventIndex)
    parkedPlace = place
    checkpoints?.focus = nextEventIndex
    // Whatever gdb asked for ends with this stop.
    stepTid = nil
    stepEndsAfterEvent = nil
    handoff.report(stop)
    if terminate { throw DebugSessionEnded() }
  }

  /// `task`'s place now, at `stage`; a place in code counts the arrival a seek saw.
  func place(of task: ReplayTask, at stage: ReplayPlace.Stage) -> ReplayPlace {
    // (A thread that has exited has none to read.)
    let registers = (try? session.currentRegisters(task))?.words ?? []
    var stack: UInt64?
    var words: [UInt64] = []
    if registers.count == Registers.count, let bytes = try? task.tracee.readMemory(at: Registers(words: registers).rsp, count: 512) {
      stack = StackSignature.hash(bytes)
      words = bytes.withUnsafeBytes { raw in (0..<4).map { raw.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self) } }
    }
    var place = ReplayPlace(
      eventIndex: nextEventIndex, tid: task.recordedTid, stage: stage, registers: registers, stack: stack,
      threadsLastEvent: lastEventOfThread[task.recordedTid])
    place.stackWords = words
    return place
  }

  // MARK: ^C

  /// gdb's ^C, from the server's thread: stop at the next event, and stop a task running
  /// user code (a loop without system calls) now, with a SIGSTOP the replay swallows.
  func interrupt() {
    interruptRequested.store(true, ordering: .relaxed)
    running.withLock { running in
      guard running.tid != 0, running.stopsSent == 0 else { return }
      running.stopsSent += 1
      sendSignal(.stop, toThread: running.tid, ofProcess: running.tgid)
    }
  }

  /// The replay waits for `task`, which it has resumed (nil: it waits for none).
  func waiting(for task: ReplayTask?) {
    running.withLock { $0.tid = task?.realTid ?? 0; $0.tgid = task?.realTgid ?? 0 }
  }

  /// A SIGSTOP stop: true when it is one a ^C sent, to be swallowed.
  func takeInterruptStop() -> Bool {
    running.withLock { running in
      guard running.stopsSent > 0 else { return false }
      running.stopsSent -= 1
      return true
    }
  }

  /// A ^C's SIGSTOP stopped `task`: gdb hears of it there if it is a thread it debugs, else
  /// at the next event.
  func interrupted(_ task: ReplayTask) throws {
    guard started, isDebugged(task), isStoppable(task), interruptRequested.exchange(false, ordering: .relaxed) else { return }
    seek?.interrupted = true
    try report(.signal(SIGINT, cause: nil), task, at: try codeStage(of: task), forced: true)
  }

  // MARK: hooks the replay calls

  /// Before each event: the first stop, a step that ended in the last event, a ^C.
  func beforeEvent(_ event: TraceEvent) throws {
    let state = DebuggerSnapshot(lastEventOfThread: lastEventOfThread, eventInProgress: eventInProgress, nextEventIndex: nextEventIndex)
    if let running = eventInProgress { lastEventOfThread[running.tid] = running.index }
    mappingsMayHaveChanged = eventInProgress == nil || previousEventMapped
    if case .syscall(let call) = event { previousEventMapped = !callsThatLeaveMappings.contains(call.number) } else { previousEventMapped = false }
    eventInProgress = (event.tid, event.index)
    nextEventIndex = event.index
    // A seek also copies the process at the event it goes to: more steps backwards from
    // about there start from that copy.
    let seekGoesHere = seek.map { $0.firstEventNeeded == event.index && !$0.countsSteps } ?? false
    if started, let checkpoints, checkpoints.isEnabled, checkpoints.wants(event.index, focus: seek?.firstEventNeeded ?? event.index)
      || (seekGoesHere && !checkpoints.has(event.index)),
      stepTid == nil, steppingOver == nil, stepEndsAfterEvent == nil
    {
      try takeCheckpoint(before: event, state, into: checkpoints)
    }
    if let over = steppingOver, let task = session.tasks[over.tid] { try finishSteppingOver(task) }
    if !started {
      guard startReached(event), let task = stoppableTask else { return }
      started = true
      guard seek != nil else {
        try report(.signal(SIGTRAP, cause: nil), task, at: .beforeEvent)
        return
      }
      if armed { try arm(true) }
    }
    // A step into a vfork ends when the vfork returns (`vforkReturned`).
    if seek == nil, let tid = stepEndsAfterEvent, let task = session.tasks[tid], isStoppable(task) {
      try report(.signal(SIGTRAP, cause: nil), task, at: .beforeEvent)
    }
    if interruptRequested.load(ordering: .relaxed), let task = stoppableTask {
      interruptRequested.store(false, ordering: .relaxed)
      seek?.interrupted = true
      try report(.signal(SIGINT, cause: nil), task, at: .beforeEvent, forced: true)
      return
    }
    if seek != nil { try seekBeforeEvent(event) }
  }

  /// The thread a stop not tied to one names: the main thread, unless it has exited or
  /// waits in the kernel for its vfork child (running, so its registers cannot be read).
  var stoppableTask: ReplayTask? {
    if let main = mainTask, isStoppable(main) { return main }
    return threads.first(where: isStoppable)
  }

  /// Whether a stop can name `task`: it is stopped, not gone (an exited thread) nor in the
  /// kernel waiting for its vfork child.
  func isStoppable(_ task: ReplayTask) -> Bool {
    task.pendingForkResult == nil && !task.isExiting && task.exitedStatus == nil
  }

  private func startReached(_ event: TraceEvent) -> Bool {
    switch start {
    case .processStart: return true
    case .afterExec(let index): return event.index > index
    case .event(let index): return event.index >= index
    }
  }

  /// A SIGTRAP stop: a breakpoint or a step of the debugger's reports to gdb and returns
  /// true (the caller resumes the task as before); anything else is the replay's.
  func claimTrap(_ task: ReplayTask) throws -> Bool {
    guard started, isDebugged(task) else { return false }
    // An int3 raises SIGTRAP with si_code SI_KERNEL and leaves DR6 as the last #DB left it
    // (the replay's DR0 code point, say), so DR6 speaks only for a debug exception.
    let info = try task.tracee.signalInfo()
    let code = signalCode(ofSignalInfo: info)
    if code == siKernel {
      var registers = try session.currentRegisters(task)
      let address = registers.rip &- 1
      guard inserted[address] != nil else { return false }
      session.breakpointTraps += 1
      registers.rip = address
      try session.setRegisters(registers, task)
      try restoreSignalMask(task)
      let isGdbs = armed && requests.softwareBreakpoints.contains(address) && conditionHolds(at: address, task)
      let parked = try report(
        .signal(SIGTRAP, cause: isGdbs ? .softwareBreakpoint : nil), task, at: .code(rip: address, arrival: arrival(at: address, task)),
        reportable: isGdbs)
      // gdb lifts its breakpoint to step over it; going on without gdb, so does the seek.
      if !parked, let original = inserted[address] {
        if !breakpointsLifted { try task.tracee.writeMemory(at: address, bytes: [original]) }
        steppingOver = (task.recordedTid, address)
      }
      return true
    }
    if code == SIGTRAP {
      // No exception at all: the kernel's report that a step entered a signal handler
      // (ptrace_notify), with DR6 as stale as for an int3.
      guard stepTid == task.recordedTid || steppingOver?.tid == task.recordedTid else { return false }
      try restoreSignalMask(task)
      try stepped(task)
      return true
    }
    let status = try task.tracee.debugRegister(6)
    if status & dr6HitDR0 != 0 { return false }
    if status != 0 { try task.tracee.setDebugRegister(6, to: 0) }
    if status & dr6HitsDebugger != 0 {
      let slot = (1...3).first { status & (1 << UInt64($0)) != 0 }!
      guard armed, let hit = requests.hardwareSlots[slot - 1] else { return false }
      try restoreSignalMask(task)
      let rip = try session.currentRegisters(task).rip
      // An execute breakpoint where an int3 of ours is being stepped over fires before the
      // instruction runs: the step over it is not done yet.
      let overHere = steppingOver.map { $0.tid == task.recordedTid && $0.address == rip } ?? false
      if steppingOver?.tid == task.recordedTid && !overHere { try finishSteppingOver(task) }
      if hit.kind == .execute {
        session.breakpointTraps += 1
        let arrival = overHere ? seek?.arrivals[rip] : arrival(at: rip, task)
        // An int3 at the same address traps next, at the same arrival.
        arrivalInProgress = (task.recordedTid, rip)
        try report(
          .signal(SIGTRAP, cause: .hardwareBreakpoint), task, at: .code(rip: rip, arrival: arrival),
          reportable: conditionHolds(at: hit.watched, task))
      } else {
        // The trap comes after the instruction that made the access: no breakpoint
        // counted arrivals here.
        try report(
          .signal(SIGTRAP, cause: .watchpoint(address: hit.watched, access: hit.kind == .readWrite)), task,
          at: .code(rip: rip, arrival: nil))
      }
      return true
    }
    if stepTid == task.recordedTid || steppingOver?.tid == task.recordedTid {
      // A step's trap, or the kernel's report of one that entered a signal handler.
      try restoreSignalMask(task)
      try stepped(task)
      return true
    }
    return false
  }

  /// A single step of `task` ended: the end of gdb's step, or of the seek's (stepping over
  /// a breakpoint, or through code place by place).
  private func stepped(_ task: ReplayTask) throws {
    session.singleSteps += 1
    arrivalInProgress = nil
    let wasSteppingOver = steppingOver?.tid == task.recordedTid
    if wasSteppingOver { try finishSteppingOver(task) }
    guard stepTid == task.recordedTid else { return }
    try report(.signal(SIGTRAP, cause: nil), task, at: try codeStage(of: task))
  }

  /// The step over an int3 of ours is done: it goes back in.
  func finishSteppingOver(_ task: ReplayTask) throws {
    guard let over = steppingOver, over.tid == task.recordedTid else { return }
    steppingOver = nil
    if inserted[over.address] != nil && !breakpointsLifted { try task.tracee.writeMemory(at: over.address, bytes: [int3]) }
  }

  /// An arrival of `task` at `address` for a seek, counted once when an execute breakpoint
  /// and an int3 at the same address both trap for it.
  private func arrival(at address: UInt64, _ task: ReplayTask) -> Int? {
    if let pending = arrivalInProgress, pending.tid == task.recordedTid, pending.address == address {
      arrivalInProgress = nil
      return seek?.arrivals[address]
    }
    arrivalInProgress = nil
    return arrive(at: address)
  }

  /// Where `task` is in user code, as a place's stage: counted when a seek counts arrivals
  /// by steps.
  func codeStage(of task: ReplayTask) throws -> ReplayPlace.Stage {
    let rip = try session.currentRegisters(task).rip
    return .code(rip: rip, arrival: seek?.countsSteps == true ? arrive(at: rip) : nil)
  }

  /// Before a resume: where a breakpoint or a step of ours can trap, note the signal mask,
  /// which the kernel changes to deliver the trap when SIGTRAP is blocked (force_sig).
  func willResume(_ task: ReplayTask) throws {
    guard started, isDebugged(task),
      stepTid == task.recordedTid || steppingOver != nil || !inserted.isEmpty || (armed && requests.hasHardware)
    else {
      task.signalMaskBeforeTrap = nil
      return
    }
    if task.knownSignalMask == nil { task.knownSignalMask = try task.tracee.signalMask() }
    task.signalMaskBeforeTrap = task.knownSignalMask
  }

  /// A trap of ours stopped `task`: give it back the signal mask it had.
  private func restoreSignalMask(_ task: ReplayTask) throws {
    guard let mask = task.signalMaskBeforeTrap, try task.tracee.signalMask() != mask else { return }
    try task.tracee.setSignalMask(mask)
    task.knownSignalMask = mask
  }

  /// How to resume `task` when the replay wants `mode`: a single step when gdb asked for
  /// one. PTRACE_SYSEMU_SINGLESTEP stops at a system call's entry too, which the replay
  /// needs.
  func resumeMode(for task: ReplayTask, _ mode: ResumeMode) -> ResumeMode {
    guard stepTid == task.recordedTid || steppingOver?.tid == task.recordedTid, stepEndsAfterEvent == nil, !task.insideSyscall,
      mode == .syscall || mode == .syscallEmulation
    else { return mode }
    return .syscallEmulationSingleStep
  }

  /// A step stopped somewhere the replay must handle (a system call, a signal): it ends
  /// once that event has replayed.
  func stepRanIntoEvent(_ task: ReplayTask) throws {
    try finishSteppingOver(task)
    if stepTid == task.recordedTid { stepEndsAfterEvent = task.recordedTid }
  }

  /// A thread is at the entry of its `exit`, about to be gone. A step that ran into the
  /// call ends here, while gdb can still read the thread's registers.
  func threadExiting(_ task: ReplayTask) throws {
    guard started, isDebugged(task) else { return }
    try report(.signal(SIGTRAP, cause: nil), task, at: .threadExit, reportable: stepEndsAfterEvent == task.recordedTid)
  }

  func syscallEntered(_ event: SyscallEvent, _ task: ReplayTask) throws {
    guard started, isDebugged(task) else { return }
    try report(
      .signal(SIGTRAP, cause: .syscallEntry(Int(event.number))), task, at: .syscallEntry,
      reportable: armed && catchSet.contains(Int(event.number)))
  }

  func syscallReturned(_ event: SyscallEvent, _ task: ReplayTask) throws {
    guard started, isDebugged(task) else { return }
    try report(
      .signal(SIGTRAP, cause: .syscallReturn(Int(event.number))), task, at: .syscallReturn,
      reportable: armed && catchSet.contains(Int(event.number)))
    // The kernel's writes (replay's, for an emulated call) raise no debug exception.
    if armed, let slot = watchedSlot(writtenBy: event.outputsWrittenLater ? [] : event.outputs) {
      try report(.signal(SIGTRAP, cause: .watchpoint(address: slot.watched, access: slot.kind == .readWrite)), task, at: .syscallReturn)
    }
  }

  /// The first data watchpoint that `chunks` write into.
  private func watchedSlot(writtenBy chunks: [MemoryChunk]) -> HardwareSlot? {
    requests.hardwareSlots.lazy.compactMap { $0 }.first { slot in
      slot.kind != .execute
        && chunks.contains { $0.address < slot.address + UInt64(slot.length) && slot.address < $0.address + UInt64($0.bytes.count) }
    }
  }

  /// The recorded signal is about to be delivered: gdb shows it ("Program received signal").
  func signalDelivered(_ signal: Signal, _ task: ReplayTask) throws {
    guard started, isDebugged(task) else { return }
    try report(.signal(signal.rawValue, cause: nil), task, at: .signal, reportable: armed)
  }

  /// The debugged process ended: gdb hears how, as often as it resumes, until it lets go.
  func processExited(_ status: ExitStatus, _ task: ReplayTask) throws {
    guard started, task.recordedTid == pid else { return }
    processEnded = true
    let kind: DebugStop.Kind
    switch status {
    case .exited(let code): kind = .exited(code: code)
    case .killed(let signal, _): kind = .killed(signal: signal)
    }
    try report(kind, task, at: .processExit)
    // Nothing of the process comes after: a seek that has not found its place never will.
    if let seek { throw seek.missed(at: place(of: task, at: .processExit)) }
    while true { try report(kind, task, at: .processExit) }
  }

  /// The replay ran out of events with the process still there.
  func recordingEnded() throws {
    guard started, !processEnded, let task = mainTask else { return }
    try report(.signal(SIGTRAP, cause: .endOfRecording), task, at: .recordingEnd)
    if let seek { throw seek.missed(at: place(of: task, at: .recordingEnd)) }
    while true { try report(.signal(SIGTRAP, cause: .endOfRecording), task, at: .recordingEnd) }
  }

  /// A new task of the debugged process: a thread gets the hardware breakpoints; a forked
  /// child loses the software ones, which it copied with the memory. A vfork child borrows
  /// the parent's memory: the breakpoints are lifted from it until the parent's vfork
  /// returns (`vforkReturned`), since the child would trap on them.
  func taskCreated(_ child: ReplayTask, by parent: ReplayTask, isThread: Bool, isVfork: Bool) throws {
    guard started, isDebugged(parent) else { return }
    if isThread {
      try applyHardwareSlots(to: child)
    } else {
      for (address, original) in inserted { try child.tracee.writeMemory(at: address, bytes: [original]) }
      if isVfork { vforkChildrenSharingMemory += 1 }
    }
  }

  /// A vfork returned in the debugged process: its child has exec'd or exited and no
  /// longer shares its memory, so the breakpoints go back in; then gdb hears of the return
  /// (catch syscall) or of the end of a step into the call.
  func vforkReturned(_ event: SyscallEvent, _ task: ReplayTask) throws {
    guard started, isDebugged(task) else { return }
    if breakpointsLifted {
      vforkChildrenSharingMemory -= 1
      if !breakpointsLifted {
        for address in inserted.keys { try task.tracee.writeMemory(at: address, bytes: [int3]) }
      }
    }
    try syscallReturned(event, task)
    if stepEndsAfterEvent == task.recordedTid { try report(.signal(SIGTRAP, cause: nil), task, at: .syscallReturn) }
  }

  /// The debugged process exec'd: its breakpoints went with the old image.
  /// gdb then loads the new program's symbols (an `exec` stop) and inserts its
  /// breakpoints again; the kernel dropped the debug registers with the old image.
  func execed(_ exec: ExecEvent, _ task: ReplayTask) throws {
    guard isDebugged(task) else { return }
    inserted = [:]
    vforkChildrenSharingMemory = 0
    if let seek {
      // gdb's requests are for the image the seek's place is in: the last one. What was
      // noted in the old image is no stop in this one.
      seek.noted.removeAll()
      if started && armed { try arm(true) }
    } else {
      requests.softwareBreakpoints = []
      requests.hardwareSlots = requests.hardwareSlots.map { _ in nil }
    }
    guard started else { return }
    nextEventIndex = exec.index + 1
    try report(.signal(SIGTRAP, cause: .exec(path: exec.executable.originalPath)), task, at: .exec)
  }
}

/// Frequent calls that never change a process's mappings: after them a seek need not look
/// for breakpoints a mapping replaced. (Anything else might: mmap, munmap, mremap, brk,
/// execve, shmat, a vfork child's exit...)
private let callsThatLeaveMappings: Set<Int> = [
  0, 1, 2, 3, 4, 5, 6, 7, 8, 13, 14, 15, 16, 17, 18, 19, 20, 21, 23, 24, 35, 39, 41, 42, 43, 44, 45, 46, 47, 49, 50, 51, 52,
  54, 55, 72, 89, 96, 102, 104, 107, 108, 110, 186, 201, 202, 228, 230, 232, 233, 257, 262, 270, 271, 281, 318,
]
