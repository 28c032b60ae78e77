import CSupport
import Glibc
import LinuxTrace
import TraceFormat

/// Serializes the processes of one memory group and orders their events.
///
/// Processes that share writable memory must not run user code at the same time, or a
/// race through that memory would not be reproducible; so a task runs user code only while
/// it holds the group's token. A task going into the kernel (resumed from a syscall-entry
/// stop) passes the token on; one coming back waits for it.
///
/// Replay runs each event's task from its previous stop to the event, one event at a time,
/// so the trace must list user-space slices in the order they ran: a system call's place is
/// reserved at its entry (where its slice ended) and filled at its exit.
///
/// A call that completes without waiting for anyone keeps the token while in the kernel, so
/// that what it does there (a write to a pipe shared with the other processes, say) happens
/// in trace order too: otherwise two processes writing to one terminal could print in one
/// order while recording and replay would echo them in the order of their entries. Calls
/// that wait for others (`passesTokenAtEntry`) give the token up at once, and a call kept in
/// the kernel longer than `kernelGrace` while someone waits gives it up then.
///
/// A task that runs more than `timeslice` without a system call while another waits (a
/// spin-wait on shared memory) is preempted, and its code point recorded for replay. One
/// back from a call in the last `callWindow` of its slice gives way at that call instead.
extension MemoryGroupTracer {
  /// 5 ms: each hand-over of a spin-wait costs a whole slice (50 ms made recording the
  /// spin-wait fixture 30 to 60 times slower than its native run; 5 ms, 5 to 12 times), and a
  /// preemption costs both recording and replay a few tenths of a millisecond.
  static let timeslice: Double = 0.005
  /// How long a task that kept the token into a system call may keep it there while another
  /// waits: the call turned out to wait for something (a full pipe, a FIFO's other end).
  static let kernelGrace: Double = 0.002
  /// The end of a timeslice in which a task back from a system call gives way there rather
  /// than run on to a preemption: a call's return costs replay nothing to find, a code point
  /// a search (DESIGN.md, principle 4). A task that makes calls more often than this is never
  /// preempted; one that does not (a hot loop) is, at the end of its slice.
  static let callWindow: Double = 0.002

  /// Calls that may wait for another task of the group, or for time to pass: their task
  /// gives the token up at its entry. Others keep it (see above) until `kernelGrace`.
  static let passesTokenAtEntry: Set<String> = [
    "read", "readv", "pread64", "preadv", "preadv2", "recvfrom", "recvmsg", "recvmmsg",
    "accept", "accept4", "connect", "poll", "ppoll", "select", "pselect6",
    "epoll_wait", "epoll_pwait", "epoll_pwait2", "nanosleep", "clock_nanosleep",
    "wait4", "waitid", "pause", "rt_sigsuspend", "rt_sigtimedwait", "futex", "futex_waitv",
    "msgrcv", "msgsnd", "semop", "semtimedop", "flock", "fcntl", "sched_yield",
    "clone", "clone3", "fork", "vfork", "execve", "execveat", "exit", "exit_group",
    "io_getevents", "io_pgetevents", "io_uring_enter", "mq_timedreceive", "mq_timedsend",
  ]

  /// Resumes a task that will run user code, when it may.
  func runInUser(_ task: RecordedTask, _ mode: ResumeMode? = nil, signal: Signal? = nil) throws {
    let mode = mode ?? userMode
    if parksIfItsProcessIsExiting(task, mode, signal) { return }
    if scheduler.holder == nil || scheduler.holder == task.tid || !scheduler.isSerializing {
      if scheduler.holder != task.tid { scheduler.holderSince = nil }
      scheduler.holder = task.tid
      scheduler.holderIsInKernel = false
      try task.tracee.resume(mode, signal: signal)
    } else {
      // The holder's timeslice counts from when someone first waits for it: reading the
      // clock at every resume would cost a system call per stop.
      if scheduler.holderSince == nil { scheduler.holderSince = monotonicSeconds() }
      scheduler.waiting.append((task.tid, mode, signal))
    }
  }

  /// Another thread of the task's process is in exit_group or exec: the task is parked where
  /// it stopped instead of run; it dies there (the kill wakes it), or runs on after a failed
  /// exec (`execFailed`).
  private func parksIfItsProcessIsExiting(_ task: RecordedTask, _ mode: ResumeMode, _ signal: Signal?) -> Bool {
    guard scheduler.exitingProcesses.contains(task.tgid) else { return false }
    scheduler.parked.append((task.tid, mode, signal))
    return true
  }

  /// Resumes a task at the return of a system call (its event is in the trace): it runs on,
  /// or, when others wait and its timeslice ends within `callWindow`, gives way here.
  func runAfterCall(_ task: RecordedTask) throws {
    if scheduler.isSerializing, scheduler.holder == task.tid, !task.isBeingPreempted, !scheduler.waiting.isEmpty,
      let since = scheduler.holderSince,
      monotonicSeconds() - since > MemoryGroupTracer.timeslice - MemoryGroupTracer.callWindow
    {
      scheduler.waiting.append((task.tid, userMode, nil))
      try passToken()
      return
    }
    try runInUser(task)
  }

  /// Resumes a task from a syscall-entry stop into the kernel; it gives up the token unless
  /// `keepsToken` (a call that waits for no one).
  func runInKernel(_ task: RecordedTask, keepsToken: Bool = false) throws {
    try task.tracee.resume(.syscall)
    guard scheduler.holder == task.tid else { return }
    if keepsToken && scheduler.isSerializing {
      scheduler.holderIsInKernel = true
      // The grace counts from this call; the timeslice from when someone began to wait, so
      // that a thread making one short call after another (getppid in a loop) gives way too.
      scheduler.inKernelSince = nil
      if !scheduler.waiting.isEmpty {
        let now = monotonicSeconds()
        scheduler.inKernelSince = now
        if scheduler.holderSince == nil { scheduler.holderSince = now }
      }
    } else {
      try passToken()
    }
  }

  /// The token holder went into the kernel or ended: the next waiting task runs.
  func passToken() throws {
    scheduler.holder = nil
    scheduler.holderIsInKernel = false
    scheduler.inKernelSince = nil
    while scheduler.holder == nil, !scheduler.waiting.isEmpty {
      let (tid, mode, signal) = scheduler.waiting.removeFirst()
      guard let task = tasks[tid], !parksIfItsProcessIsExiting(task, mode, signal) else { continue }
      scheduler.holder = tid
      scheduler.holderSince = scheduler.waiting.isEmpty ? nil : monotonicSeconds()
      do {
        try task.tracee.resume(mode, signal: signal)
      } catch where error == .noSuchProcess {
        scheduler.holder = nil  // killed meanwhile; its exit is reported by the next wait
      }
    }
  }

  /// Called while tasks wait for the token: a holder that ran a whole timeslice without a
  /// system call (spinning on something only a waiting task can change) is preempted with a
  /// SIGSTOP, which rewind suppresses; where it stops is the recorded code point. A holder
  /// kept in one call past `kernelGrace`, or in calls and user code past `timeslice`, just
  /// gives the token up.
  func checkTimeslice() throws {
    guard scheduler.isSerializing, let holder = scheduler.holder, !scheduler.waiting.isEmpty,
      let since = scheduler.holderSince
    else { return }
    let now = monotonicSeconds()
    let held = now - since
    if scheduler.holderIsInKernel {
      let inKernel = now - (scheduler.inKernelSince ?? since)
      if inKernel > MemoryGroupTracer.kernelGrace || held > MemoryGroupTracer.timeslice { try passToken() }
      return
    }
    guard held > MemoryGroupTracer.timeslice, let task = tasks[holder], !task.isBeingPreempted
    else { return }
    task.isBeingPreempted = true
    sendSignal(.stop, toThread: holder, ofProcess: task.tgid)
  }

  /// When `checkTimeslice` has something to do next, if nothing stops before: the end of
  /// the holder's slice, or of its grace in the kernel. nil while it has nothing to do.
  func timesliceDeadline() -> Double? {
    guard scheduler.isSerializing, let holder = scheduler.holder, !scheduler.waiting.isEmpty,
      let since = scheduler.holderSince
    else { return nil }
    if scheduler.holderIsInKernel {
      let grace = (scheduler.inKernelSince ?? since) + MemoryGroupTracer.kernelGrace
      return min(grace, since + MemoryGroupTracer.timeslice)
    }
    guard let task = tasks[holder], !task.isBeingPreempted else { return nil }
    return since + MemoryGroupTracer.timeslice
  }

  /// Waits for the next stop of a tracee of this group, or until `timesliceDeadline`.
  ///
  /// The timer repeats every `timerRepeat` after the deadline: waitpid cannot unblock the
  /// signal atomically, so a signal landing between the arming and waitpid is spent before
  /// the wait begins, and the repetition bounds that rare loss.
  func waitUntilStopOrDeadline() throws(Errno) -> TraceeWaitOutcome {
    guard let deadline = timesliceDeadline() else { return try waitForAnyTraceeOrSignal(onlyOwnThread: true) }
    let timer = try deadlineTimer()
    // A deadline already past (the check found nothing to do yet) is tried again shortly.
    let delay = max(deadline - monotonicSeconds(), MemoryGroupTracer.timerRepeat)
    _ = rewind_thread_timer_set(timer, UInt64(delay * 1e9), UInt64(MemoryGroupTracer.timerRepeat * 1e9))
    defer { _ = rewind_thread_timer_set(timer, 0, 0) }
    return try waitForAnyTraceeOrSignal(onlyOwnThread: true)
  }

  static let timerRepeat: Double = 0.0002
  /// The signal of the tracer threads' deadline timers: sent only to the thread whose timer
  /// it is, and only while that thread is in waitpid.
  static let deadlineSignal = rewind_realtime_signal(6)

  private func deadlineTimer() throws(Errno) -> Int {
    if let timer = deadlineTimerID { return timer }
    let r = rewind_install_wakeup_signal(MemoryGroupTracer.deadlineSignal)
    if r < 0 { throw Errno(rawValue: -r) }
    let timer = rewind_thread_timer_create(MemoryGroupTracer.deadlineSignal)
    if timer < 0 { throw Errno(rawValue: Int32(-timer)) }
    deadlineTimerID = timer
    return timer
  }

  /// An exec of `task` that would have killed the other threads of its process failed: they
  /// run on.
  func execFailed(_ task: RecordedTask) throws {
    guard scheduler.exitingProcesses.remove(task.tgid) != nil else { return }
    let released = scheduler.parked.filter { tasks[$0.tid]?.tgid == task.tgid }
    scheduler.parked.removeAll { tasks[$0.tid]?.tgid == task.tgid }
    for (tid, mode, signal) in released {
      if let other = tasks[tid] { try runInUser(other, mode, signal: signal) }
    }
  }

  /// The preempted task stopped: record its code point, and let the next task run.
  ///
  /// Where no compare stub fits (a branch lands inside the bytes a jump would replace, as in
  /// HotSpot's interpreter templates), replay would find the point with a hardware breakpoint
  /// at ~20 µs a pass, and a hot loop passes it millions of times: the task is single-stepped
  /// on, a few instructions at most, to a point a stub fits (DESIGN.md, principle 4: choose
  /// where an asynchronous event lands so that replay finds it cheaply).
  func preempted(_ task: RecordedTask) throws {
    let registers = try registers(of: task)
    // Out of an rseq critical section first: the kernel would have aborted it (see
    // `emulateRseq`).
    let inSection = task.preemptionSteps < MemoryGroupTracer.rseqStepLimit && isInRseqCriticalSection(task, rip: registers.rip)
    if inSection || (task.preemptionSteps < MemoryGroupTracer.preemptionStepLimit && !replayPatches(at: registers, in: task)),
      maySingleStep(at: registers, in: task)
    {
      task.preemptionSteps += 1
      try task.tracee.resume(.singleStep)
      return
    }
    if inSection || (task.preemptionSteps >= MemoryGroupTracer.rseqStepLimit && isInRseqCriticalSection(task, rip: registers.rip)) {
      rseqSectionCutShort(task, by: "a preemption")
    }
    task.isBeingPreempted = false
    task.preemptionSteps = 0
    let memory = codePointMemory(of: task, at: registers)
    let stack = stackSignature(of: task, at: registers)
    let reached = reachedMemory(of: task, at: registers, stack: stack)
    post(for: task.tid) { index in
      .preemption(PreemptionEvent(index: index, tid: task.tid, registers: registers, memory: memory, stack: stack, reached: reached))
    }
    scheduler.waiting.append((task.tid, userMode, nil))
    if scheduler.holder == task.tid { try passToken() }
  }

  // MARK: Event order

  /// Reserves the trace position of an event of `tid` (its current system call).
  func reserveSlot(for tid: Int32) -> Int {
    defer { scheduler.nextSlot += 1 }
    scheduler.slots.append(EventSlot(id: scheduler.nextSlot, tid: tid, events: nil))
    return scheduler.nextSlot
  }

  /// Fills a reserved position; writes every complete event at the front.
  func fill(_ slot: Int, with events: [(UInt64) -> TraceEvent]) {
    if let i = scheduler.slots.firstIndex(where: { $0.id == slot }) { scheduler.slots[i].events = events }
    flushSlots()
  }

  /// An event of `tid` whose position is now (a signal, an RDTSC, an exit).
  func post(for tid: Int32, _ event: @escaping (UInt64) -> TraceEvent) {
    fill(reserveSlot(for: tid), with: [event])
  }

  /// Whether events of `tid` still wait in the buffer: it may not move to another tracer,
  /// which writes straight to the trace, until they are written.
  func hasBufferedEvents(of tid: Int32) -> Bool { scheduler.slots.contains { $0.tid == tid } }

  /// Whether a reserved position is still waiting in the buffer (unfilled, or behind one).
  func isSlotPending(_ slot: Int) -> Bool { scheduler.slots.contains { $0.id == slot } }

  /// Whether a reserved position is still waiting for its events.
  func isSlotUnfilled(_ slot: Int) -> Bool { scheduler.slots.contains { $0.id == slot && $0.events == nil } }

  /// Gives up a reservation that will never be filled (the task died inside the call).
  func dropSlot(_ slot: Int) {
    scheduler.slots.removeAll { $0.id == slot }
    flushSlots()
  }

  /// At the group's end, when no task is left to fill them: a position never filled (a call
  /// whose task ended without the end the recorder waits for) would hold back every event
  /// after it, and the trace would end early. The filled ones are written in order, and the
  /// others said (replay then reports where the trace differs from the program).
  func flushRemainingSlots() {
    let unfilled = scheduler.slots.filter { $0.events == nil }
    if !unfilled.isEmpty {
      printToStandardError(
        "rewind: \(unfilled.count) event\(unfilled.count == 1 ? "" : "s") of thread\(Set(unfilled.map(\.tid)).count == 1 ? "" : "s") "
          + Set(unfilled.map(\.tid)).sorted().map(String.init).joined(separator: ", ")
          + " never completed before the recording ended; the events after them are written without them")
    }
    for slot in scheduler.slots { if let events = slot.events { session.write(events) } }
    scheduler.slots = []
  }

  private func flushSlots() {
    while let first = scheduler.slots.first, let events = first.events {
      session.write(events)
      scheduler.slots.removeFirst()
    }
  }
}

/// The token and the reorder buffer of one memory group.
struct GroupScheduler {
  var holder: Int32?
  /// When a task first waited for the current holder.
  var holderSince: Double?
  /// The holder kept the token into a system call (`runInKernel(_:keepsToken:)`).
  var holderIsInKernel = false
  /// When that call began, if someone waited then.
  var inKernelSince: Double?
  var waiting: [(tid: Int32, mode: ResumeMode, signal: Signal?)] = []
  var isSerializing = true
  var slots: [EventSlot] = []
  var nextSlot = 0
  /// Processes one of whose threads entered exit_group, or exec with other threads. Their
  /// other threads run no more user code: replay's exit_group or exec kills them at once, so
  /// nothing they did after its entry could be replayed (java's threads went on to call
  /// gettid and futex).
  var exitingProcesses: Set<Int32> = []
  /// Tasks of those processes that would have run: they die, or run on after a failed exec.
  var parked: [(tid: Int32, mode: ResumeMode, signal: Signal?)] = []
}

struct EventSlot {
  let id: Int
  let tid: Int32
  /// nil while the system call is in progress.
  var events: [(UInt64) -> TraceEvent]?
}
