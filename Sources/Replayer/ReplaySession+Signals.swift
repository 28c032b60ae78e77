import CSupport
import Glibc
import LinuxTrace
import TraceFormat

extension ReplaySession {
  /// Replays a delivered signal. A fault the CPU raised recurs by itself; any other signal
  /// (one the process sent itself, SIGPIPE from an emulated write...) is sent again by us at
  /// the point the recording delivered it, with the recorded siginfo.
  func replaySignal(_ event: SignalEvent, _ task: ReplayTask) throws {
    let signal = Signal(rawValue: event.signal)
    let activity = "signal \(signal)"
    let raisedByCPU = signal.isRaisedByInstruction(code: event.code)
    if !raisedByCPU {
      // Sent by a process or the kernel at whatever point the thread had reached: go there.
      try runToCodePoint(
        event.registers, memory: event.memory, stack: event.stack, reached: event.reached, task, index: event.index,
        activity: activity)
      // With this signal pending the kernel itself restarts (or fails with EINTR) a call
      // it interrupted, as it did while recording.
      task.restartCode = nil
      sendSignal(signal, toThread: task.realTid, ofProcess: task.realTgid)
      if let mask = task.interruptedWaitMask {
        task.interruptedWaitMask = nil
        try restoreInterruptedWaitMask(at: mask, for: signal, task, index: event.index)
      }
    }
    let status = try resumeAndWait(task, .syscallEmulation, expecting: signal)
    guard status == .signalStop(signal) else {
      throw unexpected(status, task, index: event.index, activity: activity, expected: "\(signal) is delivered")
    }
    let registers = try currentRegisters(task)
    var differences = registerDifferences(recorded: event.registers, replayed: registers, ignoring: [])
    if !differences.isEmpty && !raisedByCPU {
      differences.insert(
        "\(signal) reached the process asynchronously, at rip \(hex(event.registers.rip)); replay ran to that code "
          + "point and sent it there, but the kernel delivered it with other registers",
        at: 0)
    }
    if !differences.isEmpty {
      throw Divergence(eventIndex: event.index, tid: event.tid, activity: activity, differences: differences)
    }
    if !raisedByCPU && event.registers.origRax == UInt64.max {
      // As the recorder did before delivering it, where it did (see `takeBreakpointTrap`). A
      // SIGCHLD of a replayed child met meanwhile is dropped, as `waitForNews` drops it.
      let outcome = try task.tracee.takeBreakpointTrap(registerWords: registers.words, wait: { try self.waitForStop(of: $0) })
      if case .ended(let status) = outcome {
        throw unexpected(status, task, index: event.index, activity: activity, expected: "\(signal) is delivered")
      }
    }
    if !raisedByCPU { try task.tracee.setSignalInfo(event.siginfo) }
    try debugger?.signalDelivered(signal, task)
    task.signalToDeliver = signal
  }

  /// An RDTSC/RDTSCP traps again at the same instruction; supply the recorded value.
  func replayTimeStamp(_ event: RdtscEvent, _ task: ReplayTask) throws {
    let status = try resumeAndWait(task, .syscallEmulation)
    var registers = try currentRegisters(task)
    guard status == .signalStop(.segmentationFault), registers.rip == event.rip,
      let instruction = task.tracee.timeStampInstruction(at: registers.rip)
    else {
      throw unexpected(status, task, index: event.index, activity: "rdtsc", expected: "RDTSC at \(hex(event.rip))")
    }
    registers.rax = event.value & 0xffff_ffff
    registers.rdx = event.value >> 32
    if instruction == .rdtscp { registers.rcx = UInt64(event.aux) }
    registers.rip += instruction.length
    try setRegisters(registers, task)
  }

  /// Runs the process to its end and checks it ends as recorded.
  func replayExit(_ event: ExitEvent, _ task: ReplayTask) throws {
    if case .killed(let signal, _) = event.status, signal == SIGKILL {
      // SIGKILL has no signal-delivery-stop, so the recording has no signal event for it:
      // the process died wherever it was. Kill the replayed one where it stands.
      sendSignal(.kill, toThread: task.realTid, ofProcess: task.realTgid)
    }
    var status: WaitStatus
    if let exited = task.exitedStatus {
      status = exited
    } else if task.isExiting {
      status = try waitForNews(task, .continue)
    } else if task.isAtExitStop {
      status = .event(.exit)
    } else if case .killed(let signal, _) = event.status, signal == SIGKILL {
      status = try waitForNews(task, .continue)  // dying: nothing to resume
    } else {
      do {
        status = try resumeAndWait(task, .syscall)
      } catch let error as Errno where error == .noSuchProcess {
        // A thread that another thread's exit_group killed is on its way out, not stopped.
        status = try waitForNews(task, .continue)
      }
    }
    if status == .event(.exit) { status = try resumeAndWait(task, .continue) }
    // The leader ends last: its process, and any stub page kept in it, are gone (and its pid
    // may come back as another process).
    if task.realTid == task.realTgid {
      stubPages[task.realTgid] = nil
      codeMappings[task.realTgid] = nil
      addressSpaces.leave(task.realTgid)
      exitingProcesses.remove(task.realTgid)
    }
    let matches: Bool
    switch (status, event.status) {
    case (.exited(let a), .exited(let b)): matches = a == b
    // Whether a core was dumped depends on RLIMIT_CORE and the file system, not the program.
    case (.killed(let a, _), .killed(let b, _)): matches = a.rawValue == b
    default: matches = false
    }
    if !matches {
      throw unexpected(status, task, index: event.index, activity: "exit", expected: "the process ends with \(event.status)")
    }
  }
}
