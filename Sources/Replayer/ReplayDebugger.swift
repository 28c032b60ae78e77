import Glibc
import LinuxTrace
import Synchronization
import TraceFormat

/// DR6 bits: DR0 hit (the replay's own code-point breakpoint), DR1-DR3 hits (the
/// debugger's).
private let dr6HitDR0: UInt64 = 0x1
private let dr6HitsDebugger: UInt64 = 0xe
private let int3: UInt8 = 0xcc
/// si_code of the SIGTRAP an int3 raises.
private let siKernel: Int32 = 0x80

/// The debugger's side of a replay, on the tracer thread: breakpoints, single steps and
/// caught system calls in the debugged process, and the stops they cause.
///
/// The replay calls its hooks as it goes; each hook that has something to report parks the
/// replay in `TracerHandoff.report` until gdb resumes. The replay itself stays unaware of
/// breakpoints: they are traps it never sees, claimed in `claimTrap`.
final class ReplayDebugger {
  unowned var session: ReplaySession!
  /// The debugged process, by its recorded pid.
  let pid: Int32
  let start: DebugStart
  let handoff: TracerHandoff
  private(set) var started = false
  /// gdb killed, detached or went away: the next report ends the replay.
  var terminate = false
  /// Inserted software breakpoints: address and the byte the int3 replaced.
  private(set) var softwareBreakpoints: [UInt64: UInt8] = [:]
  /// vfork children sharing the debugged process's memory (its threads may each have
  /// one): the breakpoints' original bytes are in place until the last vfork returns.
  private var vforkChildrenSharingMemory = 0
  private var breakpointsLifted: Bool { vforkChildrenSharingMemory > 0 }
  /// DR1-DR3, for hardware breakpoints and watchpoints.
  /// A watched region takes one slot per aligned piece of 1, 2, 4 or 8 bytes, each knowing
  /// the address gdb asked to watch.
  private var hardwareSlots: [(address: UInt64, kind: HardwareWatchKind, length: Int, watched: UInt64)?] = [nil, nil, nil]
  var catchSet: SyscallCatchSet = .none
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
  private(set) var lastStop: DebugStop?
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

  private var mainTask: ReplayTask? { session.tasks[pid] ?? threads.first }

  // MARK: reporting

  /// Parks the replay with `kind` for gdb to see, until gdb resumes it.
  func report(_ kind: DebugStop.Kind, _ task: ReplayTask) throws {
    let stop = DebugStop(kind: kind, pid: pid, tid: task.recordedTid, eventIndex: nextEventIndex)
    lastStop = stop
    // Whatever gdb asked for ends with this stop.
    stepTid = nil
    stepEndsAfterEvent = nil
    handoff.report(stop)
    if terminate { throw DebugSessionEnded() }
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
    try report(.signal(SIGINT, cause: nil), task)
  }

  // MARK: hooks the replay calls

  /// Before each event: the first stop, a step that ended in the last event, a ^C.
  func beforeEvent(_ event: TraceEvent) throws {
    nextEventIndex = event.index
    if !started {
      guard startReached(event), let task = stoppableTask else { return }
      started = true
      try report(.signal(SIGTRAP, cause: nil), task)
      return
    }
    // A step into a vfork ends when the vfork returns (`vforkReturned`).
    if let tid = stepEndsAfterEvent, let task = session.tasks[tid], isStoppable(task) {
      try report(.signal(SIGTRAP, cause: nil), task)
    }
    if interruptRequested.load(ordering: .relaxed), let task = stoppableTask {
      interruptRequested.store(false, ordering: .relaxed)
      try report(.signal(SIGINT, cause: nil), task)
    }
  }

  /// The thread a stop not tied to one names: the main thread, unless it has exited or
  /// waits in the kernel for its vfork child (running, so its registers cannot be read).
  private var stoppableTask: ReplayTask? {
    if let main = mainTask, isStoppable(main) { return main }
    return threads.first(where: isStoppable)
  }

  /// Whether a stop can name `task`: it is stopped, not gone (an exited thread) nor in the
  /// kernel waiting for its vfork child.
  private func isStoppable(_ task: ReplayTask) -> Bool {
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
    let code = info.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 8, as: Int32.self) }
    if code == siKernel {
      var registers = try session.currentRegisters(task)
      guard softwareBreakpoints[registers.rip &- 1] != nil else { return false }
      registers.rip -= 1
      try session.setRegisters(registers, task)
      try restoreSignalMask(task)
      try report(.signal(SIGTRAP, cause: .softwareBreakpoint), task)
      return true
    }
    if code == SIGTRAP {
      // No exception at all: the kernel's report that a step entered a signal handler
      // (ptrace_notify), with DR6 as stale as for an int3.
      guard stepTid == task.recordedTid else { return false }
      try restoreSignalMask(task)
      try report(.signal(SIGTRAP, cause: nil), task)
      return true
    }
    let status = try task.tracee.debugRegister(6)
    if status & dr6HitDR0 != 0 { return false }
    if status != 0 { try task.tracee.setDebugRegister(6, to: 0) }
    if status & dr6HitsDebugger != 0 {
      let slot = (1...3).first { status & (1 << UInt64($0)) != 0 }!
      guard let hit = hardwareSlots[slot - 1] else { return false }
      let cause: DebugStop.Cause =
        hit.kind == .execute ? .hardwareBreakpoint : .watchpoint(address: hit.watched, access: hit.kind == .readWrite)
      try restoreSignalMask(task)
      try report(.signal(SIGTRAP, cause: cause), task)
      return true
    }
    if stepTid == task.recordedTid {
      // A step's trap, or the kernel's report of one that entered a signal handler.
      try restoreSignalMask(task)
      try report(.signal(SIGTRAP, cause: nil), task)
      return true
    }
    return false
  }

  /// Before a resume: where a breakpoint or a step of ours can trap, note the signal mask,
  /// which the kernel changes to deliver the trap when SIGTRAP is blocked (force_sig).
  func willResume(_ task: ReplayTask) throws {
    guard started, isDebugged(task),
      stepTid == task.recordedTid || !softwareBreakpoints.isEmpty || hardwareSlots.contains(where: { $0 != nil })
    else {
      task.signalMaskBeforeTrap = nil
      return
    }
    task.signalMaskBeforeTrap = try task.tracee.signalMask()
  }

  /// A trap of ours stopped `task`: give it back the signal mask it had.
  private func restoreSignalMask(_ task: ReplayTask) throws {
    guard let mask = task.signalMaskBeforeTrap, try task.tracee.signalMask() != mask else { return }
    try task.tracee.setSignalMask(mask)
  }

  /// How to resume `task` when the replay wants `mode`: a single step when gdb asked for
  /// one. PTRACE_SYSEMU_SINGLESTEP stops at a system call's entry too, which the replay
  /// needs.
  func resumeMode(for task: ReplayTask, _ mode: ResumeMode) -> ResumeMode {
    guard stepTid == task.recordedTid, stepEndsAfterEvent == nil, !task.insideSyscall, mode == .syscall || mode == .syscallEmulation
    else { return mode }
    return .syscallEmulationSingleStep
  }

  /// A step stopped somewhere the replay must handle (a system call, a signal): it ends
  /// once that event has replayed.
  func stepRanIntoEvent(_ task: ReplayTask) {
    if stepTid == task.recordedTid { stepEndsAfterEvent = task.recordedTid }
  }

  /// A thread is at the entry of its `exit`, about to be gone. A step that ran into the
  /// call ends here, while gdb can still read the thread's registers.
  func threadExiting(_ task: ReplayTask) throws {
    guard stepEndsAfterEvent == task.recordedTid else { return }
    try report(.signal(SIGTRAP, cause: nil), task)
  }

  func syscallEntered(_ event: SyscallEvent, _ task: ReplayTask) throws {
    guard started, isDebugged(task), catchSet.contains(Int(event.number)) else { return }
    try report(.signal(SIGTRAP, cause: .syscallEntry(Int(event.number))), task)
  }

  func syscallReturned(_ event: SyscallEvent, _ task: ReplayTask) throws {
    guard started, isDebugged(task), catchSet.contains(Int(event.number)) else { return }
    try report(.signal(SIGTRAP, cause: .syscallReturn(Int(event.number))), task)
  }

  /// The recorded signal is about to be delivered: gdb shows it ("Program received signal").
  func signalDelivered(_ signal: Signal, _ task: ReplayTask) throws {
    guard started, isDebugged(task) else { return }
    try report(.signal(signal.rawValue, cause: nil), task)
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
    while true { try report(kind, task) }
  }

  /// The replay ran out of events with the process still there.
  func recordingEnded() throws {
    guard started, !processEnded, let task = mainTask else { return }
    while true { try report(.signal(SIGTRAP, cause: .endOfRecording), task) }
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
      for (address, original) in softwareBreakpoints { try child.tracee.writeMemory(at: address, bytes: [original]) }
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
        for address in softwareBreakpoints.keys { try task.tracee.writeMemory(at: address, bytes: [int3]) }
      }
    }
    try syscallReturned(event, task)
    if stepEndsAfterEvent == task.recordedTid { try report(.signal(SIGTRAP, cause: nil), task) }
  }

  /// The debugged process exec'd: its breakpoints went with the old image.
  /// gdb then loads the new program's symbols (an `exec` stop) and inserts its
  /// breakpoints again; the kernel dropped the debug registers with the old image.
  func execed(_ exec: ExecEvent, _ task: ReplayTask) throws {
    guard isDebugged(task) else { return }
    softwareBreakpoints = [:]
    vforkChildrenSharingMemory = 0
    hardwareSlots = hardwareSlots.map { _ in nil }
    guard started else { return }
    nextEventIndex = exec.index + 1
    try report(.signal(SIGTRAP, cause: .exec(path: exec.executable.originalPath)), task)
  }

  // MARK: what gdb asks for, on the tracer thread

  func insertSoftwareBreakpoint(at address: UInt64) throws {
    guard softwareBreakpoints[address] == nil, let task = mainTask else { return }
    let original = try task.tracee.readMemory(at: address, count: 1)
    if !breakpointsLifted { try task.tracee.writeMemory(at: address, bytes: [int3]) }
    softwareBreakpoints[address] = original[0]
  }

  func removeSoftwareBreakpoint(at address: UInt64) throws {
    guard let original = softwareBreakpoints.removeValue(forKey: address), let task = mainTask, !breakpointsLifted else { return }
    try task.tracee.writeMemory(at: address, bytes: [original])
  }

  /// Memory as the program has it: inserted breakpoints show their original bytes.
  func readMemory(at address: UInt64, count: Int) throws -> [UInt8] {
    guard let task = mainTask else { throw Errno.noSuchProcess }
    var bytes = try task.tracee.readMemory(at: address, count: count)
    for (breakpoint, original) in softwareBreakpoints where breakpoint >= address && breakpoint < address + UInt64(bytes.count) {
      bytes[Int(breakpoint - address)] = original
    }
    return bytes
  }

  /// Returns false when all of DR1-DR3 are taken.
  func insertHardware(_ kind: HardwareWatchKind, at address: UInt64, length: Int) throws -> Bool {
    // A debug register watches 1, 2, 4 or 8 bytes aligned to their size (the CPU ignores
    // the address's lower bits): a longer or unaligned region takes several.
    var pieces: [(address: UInt64, length: Int)] = []
    if kind == .execute {
      pieces = [(address, 1)]
    } else {
      var (start, remaining) = (address, max(length, 1))
      // (More pieces than debug registers cannot be had; an address gdb makes up may wrap.)
      while remaining > 0 && pieces.count <= hardwareSlots.count {
        let size = [8, 4, 2, 1].first { start % UInt64($0) == 0 && $0 <= remaining }!
        pieces.append((start, size))
        start &+= UInt64(size)
        remaining -= size
      }
    }
    let free = hardwareSlots.indices.filter { hardwareSlots[$0] == nil }
    guard free.count >= pieces.count else { return false }
    for (slot, piece) in zip(free, pieces) { hardwareSlots[slot] = (piece.address, kind, piece.length, address) }
    do {
      for task in threads { try applyHardwareSlots(to: task) }
    } catch {
      // The kernel refused it (an address outside user space, say): give the registers
      // back, or every later insertion would carry the refused one along and fail too.
      for slot in free.prefix(pieces.count) { hardwareSlots[slot] = nil }
      for task in threads { try? applyHardwareSlots(to: task) }
      throw error
    }
    return true
  }

  func removeHardware(_ kind: HardwareWatchKind, at address: UInt64) throws {
    let slots = hardwareSlots.indices.filter { hardwareSlots[$0]?.watched == address && hardwareSlots[$0]?.kind == kind }
    guard !slots.isEmpty else { return }
    for slot in slots { hardwareSlots[slot] = nil }
    for task in threads { try applyHardwareSlots(to: task) }
  }

  /// DR7's bits for DR1-DR3, leaving DR0's (the replay's code points) as they are.
  private func applyHardwareSlots(to task: ReplayTask) throws {
    var control = try task.tracee.debugRegister(7) & 0x000f_0003
    for (index, slot) in hardwareSlots.enumerated() {
      guard let slot else { continue }
      let register = index + 1
      try task.tracee.setDebugRegister(register, to: slot.address)
      let condition: UInt64 = slot.kind == .execute ? 0 : slot.kind == .write ? 1 : 3
      let length: UInt64 = slot.kind == .execute ? 0 : [1: 0, 2: 1, 8: 2, 4: 3][slot.length] ?? 3
      control |= 1 << UInt64(2 * register)
      control |= (condition | length << 2) << UInt64(16 + 4 * register)
    }
    try task.tracee.setDebugRegister(7, to: control)
  }
}
