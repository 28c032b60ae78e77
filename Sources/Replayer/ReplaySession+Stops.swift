import Glibc
import LinuxTrace
import TraceFormat

extension ReplaySession {
  /// Resumes the task (delivering a signal the recording delivered here) and waits for its
  /// next stop that means something.
  func resumeAndWait(_ task: ReplayTask, _ mode: ResumeMode, expecting expectedSignal: Signal? = nil) throws -> WaitStatus {
    try collectPendingFork(task)
    let signal = task.signalToDeliver
    task.signalToDeliver = nil
    task.interruptedWaitMask = nil
    if let code = task.restartCode {
      task.restartCode = nil
      // Delivering a signal, the kernel restarts (or fails with EINTR) by itself. Without
      // one it would restart the call on the way back to user space, as it did while
      // recording (a suppressed preemption SIGSTOP): do what it would.
      if signal == nil { try restartInterruptedCall(task, code: code) }
    }
    let skipExitStop = task.atEmulatedEntry && mode == .syscall
    task.atEmulatedEntry = false
    try resumeAsDebuggerWants(task, mode, signal: signal)
    return try waitForNews(task, mode, skippingExitStop: skipExitStop, expecting: expectedSignal)
  }

  /// Waits for a stop of a task that is running, passing over stops that carry no news.
  func waitForNews(_ task: ReplayTask, _ mode: ResumeMode, skippingExitStop: Bool = false, expecting expectedSignal: Signal? = nil) throws -> WaitStatus {
    var skipExitStop = skippingExitStop
    debugger?.waiting(for: task)
    defer { debugger?.waiting(for: nil) }
    while true {
      let status = try waitForStop(of: task.realTid)
      if debugStops {
        let kind = status == .syscallStop ? "\(try task.tracee.syscallStopKind()) nr \(Int64(bitPattern: try currentRegisters(task).origRax))" : ""
        printToStandardError("[replay] \(task.recordedTid)/\(task.realTid) \(mode) -> \(status) \(kind)")
      }
      if status == .syscallStop, skipExitStop, try task.tracee.syscallStopKind() == .exit {
        // After a PTRACE_SYSEMU stop, PTRACE_SYSCALL reports the skipped call's exit too.
        skipExitStop = false
        try task.tracee.resume(mode)
        continue
      }
      if status == .signalStop(.child) && expectedSignal != .child {
        // A replayed child really exited; the recorded SIGCHLD, if the program got one,
        // is a signal event of its own and is delivered where the recording had it. (The
        // stop came before the instruction a debugger's step asked for: step it still.)
        try resumeAsDebuggerWants(task, mode)
        continue
      }
      if let debugger, status == .signalStop(.stop), debugger.takeInterruptStop() {
        // gdb's ^C stopped the task in its tracks; it goes on as if nothing happened.
        try debugger.interrupted(task)
        try resumeAsDebuggerWants(task, mode)
        continue
      }
      if let debugger, try debug(status, task, mode, debugger, skippingExitStop: &skipExitStop) { continue }
      return status
    }
  }

  /// Resumes `task` in `mode`, or one step of it when a debugger asked for a step.
  func resumeAsDebuggerWants(_ task: ReplayTask, _ mode: ResumeMode, signal: Signal? = nil) throws {
    guard let debugger else { return try task.tracee.resume(mode, signal: signal) }
    try debugger.willResume(task)
    try task.tracee.resume(debugger.resumeMode(for: task, mode), signal: signal)
  }

  /// A stop seen while a debugger is attached: true when it was the debugger's (a
  /// breakpoint, a step) and the task has been resumed as the replay wanted.
  private func debug(
    _ status: WaitStatus, _ task: ReplayTask, _ mode: ResumeMode, _ debugger: ReplayDebugger, skippingExitStop: inout Bool
  ) throws -> Bool {
    let stepping = debugger.resumeMode(for: task, mode) == .syscallEmulationSingleStep
    if status == .signalStop(.trap), try debugger.claimTrap(task) {
      try resumeAsDebuggerWants(task, mode)
      return true
    }
    guard stepping else { return false }
    if status == .syscallStop {
      // `syscall` saved rflags in r11 with the trap flag the step set; the program would see
      // it there (and replay would call that a divergence).
      var registers = try currentRegisters(task)
      if registers.r11 & trapFlag != 0 {
        registers.r11 &= ~trapFlag
        try setRegisters(registers, task)
      }
    }
    if status == .syscallStop && mode == .syscall {
      // The step reached a call replay performs, but PTRACE_SYSEMU_SINGLESTEP skipped it:
      // back up to the `syscall` instruction and enter it again for real. The skipped
      // call's exit stop comes first.
      var registers = try currentRegisters(task)
      registers.rax = registers.origRax
      registers.rip -= 2
      try setRegisters(registers, task)
      try debugger.stepRanIntoEvent(task)
      skippingExitStop = true
      try task.tracee.resume(.syscall)
      return true
    }
    try debugger.stepRanIntoEvent(task)
    return false
  }

  /// The kernel's restart of an interrupted call when no handler runs (`kernelRestart`).
  func restartInterruptedCall(_ task: ReplayTask, code: Int64) throws {
    let registers = try currentRegisters(task)
    guard Int64(bitPattern: registers.rax) == code, let restarted = kernelRestart(ofRegisterWords: registers.words) else { return }
    try setRegisters(Registers(words: restarted), task)
  }

  /// A vfork parent's syscall-exit stop comes once its child has exec'd or exited.
  func collectPendingFork(_ task: ReplayTask) throws {
    guard let (event, outputs) = task.pendingForkResult else { return }
    task.pendingForkResult = nil
    let exit = try waitForNews(task, .syscall)
    guard exit == .syscallStop, try task.tracee.syscallStopKind() == .exit else {
      throw unexpected(exit, task, index: event.index, activity: "vfork", expected: "vfork returns \(event.result)")
    }
    try finishFork(event, outputs, task)
    try debugger?.vforkReturned(event, task)
  }

  func currentRegisters(_ task: ReplayTask) throws -> Registers { Registers(words: try task.tracee.registerWords()) }

  func setRegisters(_ registers: Registers, _ task: ReplayTask) throws { try task.tracee.setRegisterWords(registers.words) }

  /// A divergence for a stop that the recording did not have here.
  func unexpected(_ status: WaitStatus, _ task: ReplayTask, index: UInt64, activity: String, expected: String) -> any Error {
    // Replay emulates every kill and sends recorded signals itself: a SIGINT it did not
    // expect came from outside, the terminal's ^C (under gdb, the debugger takes those).
    if status == .signalStop(.interrupt) && debugger == nil { return ReplayInterrupted(signal: .interrupt, eventIndex: index) }
    unexpectedStop = (task, status)
    let found: String
    switch status {
    case .exited(let code): found = "the process exited with status \(code)"
    case .killed(let signal, _): found = "the process was killed by \(signal)"
    case .signalStop(let signal):
      found = "the process received \(signal)" + ((try? currentRegisters(task)).map { " at rip \(hex($0.rip))" } ?? "")
    case .syscallStop:
      let number = (try? currentRegisters(task)).map { String(Int64(bitPattern: $0.origRax)) } ?? "?"
      found = "the process made system call \(number)"
    case .event(let event): found = "ptrace event \(event)"
    }
    return Divergence(eventIndex: index, tid: task.recordedTid, activity: activity, differences: ["recorded: \(expected)", "replayed: \(found)"])
  }
}

/// EFLAGS.TF, which single-stepping sets.
private let trapFlag: UInt64 = 0x100

/// REWIND_DEBUG_STOPS=1 prints every ptrace stop replay sees, for debugging rewind itself.
let debugStops = getenv("REWIND_DEBUG_STOPS") != nil
/// With REWIND_DEBUG_STOPS, REWIND_DEBUG_STUB_CODE also prints each compare stub's bytes
/// (`xxd -r -p`, then `objdump -D -b binary -m i386:x86-64 --adjust-vma=` its address).
let debugStubCode = getenv("REWIND_DEBUG_STUB_CODE") != nil
