import CSupport
import Glibc
import LinuxTrace
import TraceFormat

extension MemoryGroupTracer {
  func signalArrived(_ signal: Signal, _ task: RecordedTask) throws {
    let tracee = task.tracee
    let info: [UInt8]
    do {
      info = try tracee.signalInfo()
    } catch {
      // Under PTRACE_TRACEME a group-stop looks like a signal-delivery-stop whose siginfo
      // cannot be read; let the tracee go on.
      try runInUser(task)
      return
    }
    let code = signalCode(ofSignalInfo: info)
    var registers = try registers(of: task)
    if signal == .segmentationFault, code == TimeStampInstruction.trapSignalCode,
      let instruction = tracee.timeStampInstruction(at: registers.rip)
    {
      try emulate(instruction, registers: &registers, task)
      try runInUser(task)
      return
    }
    // Sent by a process or the kernel (not raised by the instruction): replay delivers it
    // at this code point, which its memory helps tell from other passes.
    let raisedByCPU = signal.isRaisedByInstruction(code: code)
    var others: [Signal] = []
    if !raisedByCPU, isInRseqCriticalSection(task, rip: registers.rip) {
      // The kernel would have aborted the section to deliver it (see `emulateRseq`): it is
      // delivered just past the section's end instead.
      guard let met = try stepWithoutSignals(task, limit: MemoryGroupTracer.rseqStepLimit, while: {
        let now = try self.registers(of: task)
        return self.isInRseqCriticalSection(task, rip: now.rip) && self.maySingleStep(at: now, in: task)
      }) else { return }
      others = met.others
      try tracee.setSignalInfo(info)
      registers = try self.registers(of: task)
      if isInRseqCriticalSection(task, rip: registers.rip) { rseqSectionCutShort(task, by: "\(signal)") }
    }
    defer { resendDeferredSignals(task.tid, ofProcess: task.tgid, others) }
    let memory = raisedByCPU ? [] : codePointMemory(of: task, at: registers)
    let stack = raisedByCPU ? nil : stackSignature(of: task, at: registers)
    // No reached memory (`ReachedMemory`, taken with preemptions): how often signals come is
    // the program's choice, and taking it cost a debug build more than a 2 ms timer's
    // interval, so that alarm_in_libc ran nothing but its handler.
    post(for: task.tid) { index in
      .signal(
        SignalEvent(
          index: index, tid: task.tid, signal: signal.rawValue, code: code, siginfo: info,
          registers: registers, memory: memory, stack: stack))
    }
    session.onSignal?(task.tid, signal.rawValue, registers.words)
    if !raisedByCPU && registers.origRax == UInt64.max {
      // So that its frame is the same in replay (see `takeBreakpointTrap`). Not in a call
      // the signal interrupted: resumed without the signal there, the kernel would put back
      // the mask a pselect6 or rt_sigsuspend had put in force, and the signal it let
      // through would then stay blocked.
      switch try tracee.takeBreakpointTrap(registerWords: registers.words, wait: { try waitForTracee($0, onlyOwnThread: true) }) {
      case .taken(let met):
        others += met
        try tracee.setSignalInfo(info)
      case .notPossible: break
      case .ended(let status):
        processEnded(task, status.exitStatus!)
        return
      }
    }
    try runInUser(task, signal: signal)
  }

  /// Supplies the value of a trapped RDTSC/RDTSCP from our own clock and steps over it.
  private func emulate(_ instruction: TimeStampInstruction, registers: inout Registers, _ task: RecordedTask) throws {
    var aux: UInt32 = 0
    let value = rewind_read_tsc_while_trapped(instruction == .rdtscp ? 1 : 0, &aux)
    let rip = registers.rip
    registers.rax = value & 0xffff_ffff
    registers.rdx = value >> 32
    if instruction == .rdtscp { registers.rcx = UInt64(aux) }
    registers.rip += instruction.length
    try task.tracee.setRegisterWords(registers.words)
    post(for: task.tid) { index in
      .rdtsc(
        RdtscEvent(
          index: index, tid: task.tid, rip: rip, isRdtscp: instruction == .rdtscp, value: value,
          aux: aux))
    }
  }
}
