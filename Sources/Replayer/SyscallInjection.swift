import CodePatch
import Glibc
import LinuxTrace
import TraceFormat

/// Where a task stopped, as far as running a system call of ours in it is concerned.
///
/// Replay leaves a task at its previous event's stop when it goes on to the next one. An
/// injected call (the compare stub's mmap and munmap) runs from there: it sets rip to a
/// `syscall` instruction and the call's registers, resumes with PTRACE_SYSCALL to the call's
/// exit, and puts every register back. Afterwards the task sits at a syscall-exit stop with
/// the registers it had, which resumes exactly as the old stop would have, except for:
/// - a PTRACE_SYSEMU entry stop: the skipped call's exit stop comes first (and is passed
///   over); after that `atEmulatedEntry` no longer holds;
/// - a signal-delivery-stop whose signal we are about to deliver: resuming would discard it;
/// - a ptrace event stop (fork, exec...): the call in progress still has to return;
/// - a restart we do ourselves (`restartCode`) or a vfork parent's pending exit.
/// The last three are refused: the caller falls back to another way.
enum InjectionStop {
  case emulatedEntry, syscallExit, suppressedSignal
}

extension ReplaySession {
  /// How a system call can be injected into `task` where it stopped, or why not.
  func injectionStop(_ task: ReplayTask) -> Result<InjectionStop, InjectionRefusal> {
    if task.pendingForkResult != nil { return .failure("a vfork parent still in the kernel") }
    if task.signalToDeliver != nil { return .failure("a signal waits to be delivered at this stop") }
    if task.restartCode != nil { return .failure("an interrupted call waits to be restarted") }
    if task.isAtExitStop || task.isExiting || task.exitedStatus != nil { return .failure("the task is exiting") }
    guard let kind = try? task.tracee.syscallStopKind() else { return .failure("PTRACE_GET_SYSCALL_INFO failed") }
    switch kind {
    case .entry:
      return task.atEmulatedEntry ? .success(.emulatedEntry) : .failure("a system call entry replay performs")
    case .exit:
      return .success(.syscallExit)
    case .seccomp:
      return .failure("a seccomp stop")
    case .none:
      // A signal-delivery-stop or a ptrace event stop; PTRACE_GETSIGINFO tells them apart
      // (an event stop's si_code is SIGTRAP | event << 8) and fails in a group-stop.
      guard let info = try? task.tracee.signalInfo() else { return .failure("a group-stop") }
      let code = signalCode(ofSignalInfo: info)
      if code & 0xff == SIGTRAP && code >> 8 != 0 { return .failure("a ptrace event stop") }
      return .success(.suppressedSignal)
    }
  }

  /// Runs system call `number` with `arguments` in `task`, stopped at `stop`, through the
  /// `syscall` instruction at `instruction`, and returns its result (a negative errno on
  /// failure). Every register is as before; the task is left at the call's syscall-exit stop.
  func injectSyscall(
    _ number: Int, _ arguments: [UInt64], in task: ReplayTask, from stop: InjectionStop, using instruction: UInt64
  ) throws -> Int64 {
    let saved = try currentRegisters(task)
    var registers = saved
    registers.rip = instruction
    registers.rax = UInt64(number)
    // Not a call being restarted: no restart logic may touch what we set.
    registers.origRax = UInt64.max
    let values = arguments + Array(repeating: 0, count: 6 - arguments.count)
    (registers.rdi, registers.rsi, registers.rdx) = (values[0], values[1], values[2])
    (registers.r10, registers.r8, registers.r9) = (values[3], values[4], values[5])
    try setRegisters(registers, task)
    task.atEmulatedEntry = false
    var entered = false
    var result: Int64 = 0
    while true {
      try task.tracee.resume(.syscall)
      let status = try waitForStop(of: task.realTid)
      if status == .signalStop(.child) { continue }  // a replayed child exited; as waitForNews
      if status == .signalStop(.interrupt) && debugger == nil {
        throw ReplayInterrupted(signal: .interrupt, eventIndex: cursor.consumed)  // ^C, as in `unexpected`
      }
      guard status == .syscallStop else {
        throw Divergence(
          eventIndex: cursor.consumed, tid: task.recordedTid, activity: "system call \(number) injected by replay",
          differences: ["expected its system call stops, got \(status)"])
      }
      let kind = try task.tracee.syscallStopKind()
      if kind == .entry {
        entered = true
        continue
      }
      // Before our entry: the exit stop of the call a PTRACE_SYSEMU stop skipped.
      guard entered, kind == .exit else { continue }
      result = Int64(bitPattern: try currentRegisters(task).rax)
      break
    }
    try setRegisters(saved, task)
    return result
  }

  /// The address of a `syscall` instruction (0f 05) the task can run: the one it stopped
  /// after, when it stopped at a system call, else the first one in its executable mappings
  /// (`maps`, read here when not given and needed).
  func syscallInstruction(for task: ReplayTask, rip: UInt64, maps given: [MapsEntry]? = nil) -> UInt64? {
    func isSyscall(_ address: UInt64) -> Bool {
      (try? task.tracee.readMemory(at: address, count: 2)) == [0x0f, 0x05]
    }
    if rip >= 2, isSyscall(rip - 2) { return rip - 2 }
    guard let maps = given ?? (try? readMaps(of: task.realTid)) else { return nil }
    // [vsyscall] may only be entered at its entry points; everything else executable will do:
    // only the two bytes at rip run before the call's exit stop, whatever they belong to.
    let usable = maps.filter { $0.isExecutable && $0.name != "[vsyscall]" }
    // The last one found in this process, if its bytes are still there and executable:
    // the search below reads whole mappings, at every code point in a hot loop.
    if let known = syscallInstructions[task.realTgid], isSyscall(known),
      usable.contains(where: { $0.start <= known && known + 2 <= $0.end })
    {
      return known
    }
    let found = task.tracee.findSyscallInstruction(in: usable)
    if let found { syscallInstructions[task.realTgid] = found }
    return found
  }
}
