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
