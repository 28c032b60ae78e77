import CSupport
import CodePatch
import Glibc
import LinuxTrace
import Syscalls
import TraceFormat

/// Traces the processes of one memory group on one pinned OS thread: every ptrace call for
/// them is made here, since Linux ties a tracee to the thread that attached it.
final class MemoryGroupTracer {
  let session: RecordSession
  let cpu: Int32?
  var tasks: [Int32: RecordedTask] = [:]
  var scheduler = GroupScheduler()
  /// Tells whether replay can patch a compare stub at a preemption point, as replay will
  /// decide it (`preempted`).
  var patchSiteChooser = PatchSiteChooser()
  /// The POSIX timer that wakes this thread from waitpid at a timeslice deadline (created
  /// on this thread at first use, deleted when the group ends).
  var deadlineTimerID: Int?
  /// An rseq critical section was left interrupted (said once a group: `rseqSectionCutShort`).
  var toldOfCutShortSection = false

  init(session: RecordSession, cpu: Int32?) {
    self.session = session
    self.cpu = cpu
  }

  static let traceOptions: Tracee.Options = [
    .traceSysGood, .traceExec, .traceExit, .exitKill, .traceFork, .traceVfork, .traceClone, .traceSeccomp,
  ]

  /// Spawns the program; returns its pid, stopped before exec with our options set.
  func spawnRoot(cpu: Int32?) throws -> Int32 {
    let options = session.options
    let errorPipe: (read: Int32, write: Int32)
    do { errorPipe = try makeCloseOnExecPipe() } catch { throw RecordError.spawnFailed(path: options.executablePath, errno: error) }
    defer { close(errorPipe.read) }
    let pid: Int32
    do {
      pid = try TraceeSpawner.spawn(
        path: options.executablePath, arguments: options.arguments,
        environment: environmentWithBuffer(options.environment), cpu: cpu, errorPipe: errorPipe.write,
        syscallBufferFilter: usesSyscallBuffer)
      close(errorPipe.write)
    } catch {
      close(errorPipe.write)
      throw RecordError.spawnFailed(path: options.executablePath, errno: error)
    }
    let root = RecordedTask(tid: pid, hasExecuted: false, awaitsAttachStop: false, isAnnounced: true)
    tasks[pid] = root
    session.setLive(pid, true)
    // The child stops itself with SIGSTOP before exec, so options are set before the exec.
    let first: WaitStatus
    do { first = try waitForTracee(pid) } catch { throw RecordError.ptraceFailed(operation: "waitpid", errno: error) }
    guard case .signalStop(let signal) = first, signal == .stop else {
      tasks = [:]
      session.setLive(pid, false)
      var childErrno: Int32 = 0
      let n = read(errorPipe.read, &childErrno, 4)
      let code: Int32 = if case .exited(let c) = first { c } else { 126 }
      throw RecordError.execFailed(path: options.executablePath, errno: Errno(rawValue: n == 4 ? childErrno : EIO), exitCode: code)
    }
    do {
      try root.tracee.setOptions(MemoryGroupTracer.traceOptions)
      try root.tracee.resume(userMode)
    } catch {
      root.tracee.killAndReap()
      throw RecordError.ptraceFailed(operation: "PTRACE_SETOPTIONS", errno: error)
    }
    return pid
  }

  /// Takes over a process another tracer let go parked in an injected pause(): seizes it,
  /// interrupts the pause, and puts back the registers it is to go on with (its fork's
  /// return, for a child moving group). `process`: for a thread of a process adopted before
  /// it in this group, that process's pid. `starts`: resumed at once; else `start` resumes
  /// it (a process's threads are all seized before any runs, so that none exits before its
  /// siblings are taken).
  func adopt(
    _ pid: Int32, registers: Registers, signalMask: UInt64, deferredSignals: [Signal], buffer: SyscallBufferCursor?,
    rseq: RseqRegistration?, threadOf process: Int32? = nil, starts: Bool = true
  ) {
    let task = RecordedTask(tid: pid, hasExecuted: true, awaitsAttachStop: false, isAnnounced: true)
    task.buffer = buffer
    task.rseq = rseq
    if let process {
      task.isThread = true
      task.tgid = process
    }
    tasks[pid] = task
    do {
      do {
        try Tracee.seize(pid, options: MemoryGroupTracer.traceOptions)
      } catch {
        guard error == .noSuchProcess else { throw error }
        // Killed (SIGKILL, the one signal it could not block) between detach and seize; its
        // parent reaps it.
        processEnded(task, .killed(signal: SIGKILL, coreDumped: false))
        return
      }
      try task.tracee.interrupt()
      var status = try waitForTracee(pid, onlyOwnThread: true)
      while status != .event(.stop) {
        if status.isTerminal {
          processEnded(task, status.exitStatus!)
          return
        }
        try task.tracee.resume(.continue)
        status = try waitForTracee(pid, onlyOwnThread: true)
      }
      if let cpu { _ = rewind_set_affinity(pid, cpu) }
      rseqCPUChanged(task)
      // Exactly the registers it goes on with, orig_rax included (a signal delivered now
      // must see what it would have seen). A fork's return has rax 0, no restart code, so
      // the interrupted pause() is not restarted; a replay gone live gives orig_rax -1 (no
      // call to restart).
      try task.tracee.setRegisterWords(registers.words)
      // Signals that arrived meanwhile are pending; they are delivered, and recorded, here.
      try task.tracee.setSignalMask(signalMask)
      resendDeferredSignals(pid, ofProcess: task.tgid, deferredSignals)
      task.isInsideSyscall = false
      if starts { try runInUser(task) }
    } catch {
      session.abort(RecordError.ptraceFailed(operation: "taking over process \(pid) on a new tracer thread", errno: error as? Errno ?? .ioError))
    }
  }

  /// Resumes a task `adopt` took over without starting it.
  func start(_ tid: Int32) {
    guard let task = tasks[tid] else { return }  // it ended meanwhile
    do { try runInUser(task) } catch {
      session.abort(RecordError.ptraceFailed(operation: "starting thread \(tid) on a new tracer thread", errno: error as? Errno ?? .ioError))
    }
  }

  /// The main loop: one iteration per ptrace stop of any tracee of this group.
  func traceUntilAllExit() {
    defer {
      if let timer = deadlineTimerID { rewind_thread_timer_delete(timer) }
      flushRemainingSlots()
    }
    while !tasks.isEmpty {
      var next: (tid: Int32, status: WaitStatus)?
      do {
        if scheduler.waiting.isEmpty {
          next = try waitForAnyTracee(onlyOwnThread: true)
        } else {
          next = try waitForAnyTracee(onlyOwnThread: true, blocking: false)
          if next == nil {
            do { try checkTimeslice() } catch { session.abort(error) }
            // Blocks until a tracee stops or the holder's time is up (a timer signal to this
            // thread): the turn passes as soon as the holder stops, with no polling.
            switch try waitUntilStopOrDeadline() {
            case .stopped(let tid, let status): next = (tid, status)
            case .interrupted: continue
            case .noTracees: next = nil
            }
          }
        }
      } catch {
        session.abort(RecordError.ptraceFailed(operation: "waitpid", errno: error))
        return
      }
      guard let (tid, status) = next else { return }
      let task = tasks[tid] ?? adoptNewChild(tid)
      do {
        try handle(status, of: task)
      } catch let error as Errno where error == .noSuchProcess {
        // Killed under us (SIGKILL from outside): its exit status arrives with the next wait.
      } catch let error as RecordError where error.isNoSuchProcess {
        // The same, noticed inside a step that wraps the error.
      } catch {
        session.abort(error)
      }
    }
  }

  /// An exec from a thread other than the main one is reported with the process's pid: the
  /// kernel gave that thread the pid of the main thread, which it killed with the others
  /// and which reports no end of its own. The exec'ing thread's task takes that pid.
  private func threadThatExeced(reportedAs task: RecordedTask) throws -> RecordedTask {
    let former = Int32(truncatingIfNeeded: try task.tracee.eventMessage())
    guard former != task.tid, let execer = tasks[former] else { return task }
    let pid = task.tid
    if let pending = task.pendingCall, !pending.isWritten {
      // The old main thread's call never returns; it stays in the trace, as at any kill.
      fill(pending.slot, with: [syscallEvent(pending, task, result: SyscallEvent.unfinished, outputs: [])])
    }
    tasks[former] = nil
    scheduler.waiting.removeAll { $0.tid == pid || $0.tid == former }
    scheduler.parked.removeAll { $0.tid == pid || $0.tid == former }
    if scheduler.holder == pid || scheduler.holder == former { scheduler.holder = nil }
    session.setLive(former, false)
    execer.tookOverProcessID(pid)
    tasks[pid] = execer
    return execer
  }

  /// A child can report its first stop before its parent's fork event does.
  private func adoptNewChild(_ tid: Int32) -> RecordedTask {
    let task = RecordedTask(tid: tid, hasExecuted: true, awaitsAttachStop: true, isAnnounced: false)
    task.parentPid = procStatusField("PPid", of: tid).map(Int32.init)
    tasks[tid] = task
    session.setLive(tid, true)
    if session.hasFailed { kill(tid, SIGKILL) }  // born after the recording was stopped
    return task
  }

  private func handle(_ status: WaitStatus, of task: RecordedTask) throws {
    switch status {
    case .syscallStop:
      task.isInsideSyscall.toggle()
      if task.isInsideSyscall { try syscallEntered(task) } else { try syscallExited(task) }
    case .event(.seccomp):
      // With the system call buffer, a traced call's entry (the filter's SECCOMP_RET_TRACE):
      // tasks run user code under PTRACE_CONT, and its exit is a syscall-exit stop.
      task.isInsideSyscall = true
      try drainBuffer(of: task)
      try syscallEntered(task)
    case .event(.exec):
      let execer = try threadThatExeced(reportedAs: task)
      try execOccurred(execer)
      try execer.tracee.resume(.syscall)  // on to execve's syscall-exit stop, in the kernel
    case .event(.fork), .event(.vfork), .event(.clone):
      try childCreated(by: task)
      try task.tracee.resume(.syscall)  // on to the syscall-exit stop, in the kernel
    case .event(.exit):
      try? drainBuffer(of: task)  // killed in user code after buffered calls
      try task.tracee.resume(.continue)
      // A thread keeps the token until it is reaped (processEnded). A thread group's leader
      // is reported only after all its threads, so it gives the token up here.
      if scheduler.holder == task.tid && !task.isThread { try passToken() }
    case .event(.stop) where task.awaitsAttachStop:
      // Children of a seized tracee start with PTRACE_EVENT_STOP instead of SIGSTOP.
      try attachStopReached(task)
    case .event:
      try runInUser(task)
    case .signalStop(let signal) where !task.awaitsAttachStop && task.buffer != nil:
      // A call resumed to be made traced that meets a signal first is made untraced after it.
      task.buffer?.traceAtEntryFrom = nil
      if signal == .stop, try deschedSignalArrived(task) { return }
      try drainBuffer(of: task)
      if try isInBufferedCall(task) {
        try signalArrivedInBufferedCall(signal, task)
      } else {
        try signalStopped(signal, task)
      }
    case .signalStop(let signal):
      try signalStopped(signal, task)
    case .exited, .killed:
      processEnded(task, status.exitStatus!)
    }
  }

  func signalStopped(_ signal: Signal, _ task: RecordedTask) throws {
    if task.isBeingPreempted && (signal == .stop || signal == .trap && task.preemptionSteps > 0) {
      try preempted(task)
    } else if task.awaitsAttachStop && signal == .stop {
      try attachStopReached(task)
    } else if task.awaitsAttachStop {
      // A lower-numbered signal is dequeued before the attach SIGSTOP: keep it for when
      // the child runs, and go on to its attach stop.
      task.deferredSignals.append(signal)
      try task.tracee.resume(userMode)
    } else {
      if task.preemptionSteps > 0 {
        // A signal met the steps off a preemption point: the preemption is given up (the
        // timeslice check makes another), and the signal handled as any.
        task.isBeingPreempted = false
        task.preemptionSteps = 0
      }
      try signalArrived(signal, task)
    }
  }

  /// A new child's first stop: it may run once its parent's fork event is written.
  private func attachStopReached(_ task: RecordedTask) throws {
    task.awaitsAttachStop = false
    if task.isAnnounced {
      try startRunning(task)
    } else {
      task.isHeldAtAttachStop = true
    }
  }

  /// A new child past its attach stop: it runs here, or on a tracer of its own.
  func startRunning(_ child: RecordedTask) throws {
    if child.movesToOwnGroup {
      try handOff(child)
    } else {
      resendDeferredSignals(child.tid, ofProcess: child.tgid, child.deferredSignals)
      child.deferredSignals = []
      try runInUser(child)
    }
  }

  /// Lets `child` go to a new memory group. A tracee belongs to one tracer thread, so we
  /// detach it and the new thread seizes it; in between it must not run untraced. It is at
  /// its attach stop just past the `syscall` instruction of its fork, so we make it run that
  /// instruction again as pause(), which blocks until the new tracer interrupts it.
  /// While it is untraced, every signal is blocked: a signal handled then would run outside
  /// the recording (only SIGKILL cannot be blocked, and then it is dead either way).
  private func handOff(_ child: RecordedTask) throws {
    let saved = Registers(words: try child.tracee.registerWords())
    let mask = try child.tracee.signalMask()
    var parked = saved
    parked.rax = 34  // pause
    parked.rdi = UInt64(REWIND_PARKED_PAUSE_MAGIC)  // which the buffer's filter lets wait untraced
    parked.rip -= 2
    try child.tracee.setRegisterWords(parked.words)
    try child.tracee.setSignalMask(~0)
    try child.tracee.detach()
    tasks[child.tid] = nil
    session.startGroup(
      adopting: child.tid, registers: saved, signalMask: mask, deferredSignals: child.deferredSignals, buffer: child.buffer,
      rseq: child.rseq)
  }

  /// Hands a task to a new tracer at a syscall-entry stop: the call becomes pause() here, and
  /// the new tracer makes it run its `syscall` instruction again, so the call is recorded there.
  func handOffAtEntry(_ task: RecordedTask) throws {
    let entry = Registers(words: try task.tracee.registerWords())
    let mask = try task.tracee.signalMask()
    var parked = entry
    parked.origRax = 34  // pause, instead of the call
    parked.rdi = UInt64(REWIND_PARKED_PAUSE_MAGIC)
    try task.tracee.setRegisterWords(parked.words)
    try task.tracee.setSignalMask(~0)
    try task.tracee.detach()
    tasks[task.tid] = nil
    if scheduler.holder == task.tid { try passToken() }
    var again = entry
    again.rip -= 2
    again.rax = entry.origRax
    again.origRax = UInt64(bitPattern: -1)
    session.startGroup(
      adopting: task.tid, registers: again, signalMask: mask, deferredSignals: [], buffer: task.buffer, rseq: task.rseq)
  }

  /// Sends again, with tgkill, signals a child received before its attach stop (their
  /// siginfo is not kept: they arrive as sent by rewind).
  func resendDeferredSignals(_ tid: Int32, ofProcess processID: Int32, _ signals: [Signal]) {
    for signal in signals { sendSignal(signal, toThread: tid, ofProcess: processID) }
  }

  func processEnded(_ task: RecordedTask, _ status: ExitStatus) {
    if let pending = task.pendingCall, !pending.isWritten {
      // Its slice up to this call ran (it may have released a lock others then took), so the
      // call stays in the trace, marked as never returning.
      fill(pending.slot, with: [syscallEvent(pending, task, result: SyscallEvent.unfinished, outputs: [])])
    }
    post(for: task.tid) { index in .exit(ExitEvent(index: index, tid: task.tid, status: status)) }
    tasks[task.tid] = nil
    if !task.isThread { scheduler.exitingProcesses.remove(task.tid) }  // its pid may come back
    scheduler.waiting.removeAll { $0.tid == task.tid }
    scheduler.parked.removeAll { $0.tid == task.tid }
    if scheduler.holder == task.tid { try? passToken() }
    // A parent killed right after a fork reports no fork event: its held child goes on.
    for orphan in tasks.values where orphan.isHeldAtAttachStop && orphan.parentPid == task.tid {
      orphan.isAnnounced = true
      orphan.isHeldAtAttachStop = false
      try? startRunning(orphan)
    }
    session.setLive(task.tid, false)
    try? releaseVforkParent(of: task)
    if task.tid == session.rootProcess { session.rootEnded(status) }
  }

  func registers(of task: RecordedTask) throws -> Registers {
    do { return Registers(words: try task.tracee.registerWords()) } catch {
      throw RecordError.ptraceFailed(operation: "PTRACE_GETREGS on \(task.tid)", errno: error)
    }
  }
}

extension WaitStatus {
  /// How a terminated tracee ended, as the trace records it.
  var exitStatus: ExitStatus? {
    switch self {
    case .exited(let code): .exited(code: code)
    case .killed(let signal, let coreDumped): .killed(signal: signal.rawValue, coreDumped: coreDumped)
    default: nil
    }
  }
}
