import CSupport
import LinuxTrace
import TraceFormat

/// DR7 bits: local enable of DR0, condition "execute", length 1.
private let debugControlExecuteDR0: UInt64 = 0x1

extension ReplaySession {
  /// Runs `task` on to the code point whose registers are `target`: the first time it is at
  /// `target.rip` with every register as recorded (DESIGN.md, principle 4).
  ///
  /// This is the hardware-breakpoint form (~20 µs a pass here): it traps at each pass through
  /// the instruction and compares. A spin-wait, the usual reason for a preemption, matches on
  /// its first pass; a point deep in a loop whose registers change costs a trap per pass,
  /// which the in-process compare stub of DESIGN.md will remove.
  func runToCodePoint(_ target: Registers, _ task: ReplayTask, index: UInt64, activity: String) throws {
    codePointsReached += 1
    if registerDifferences(recorded: target, replayed: try currentRegisters(task), ignoring: []).isEmpty { return }
    try task.tracee.setDebugRegister(0, to: target.rip)
    try task.tracee.setDebugRegister(7, to: debugControlExecuteDR0)
    defer { try? task.tracee.setDebugRegister(7, to: 0) }
    var rejected = 0
    while true {
      // PTRACE_SYSEMU: reaching a system call first means the point was missed.
      let status = try resumeAndWait(task, .syscallEmulation, expecting: .trap)
      guard status == .signalStop(.trap), try currentRegisters(task).rip == target.rip else {
        throw unexpected(
          status, task, index: index, activity: activity,
          expected: "the thread reaches rip \(hex(target.rip)) with its recorded registers (passed it \(rejected) times with others)")
      }
      // The #DB exception sets orig_rax to -1 (kernel bookkeeping, not a CPU register):
      // compare without it, then give back the recorded one, which restart logic reads.
      var registers = try currentRegisters(task)
      if registerDifferences(recorded: target, replayed: registers, ignoring: [RegisterIndex.origRax]).isEmpty {
        registers.origRax = target.origRax
        try setRegisters(registers, task)
        codePointPassesRejected += rejected
        return
      }
      if debugStops {
        let differences = registerDifferences(recorded: target, replayed: registers, ignoring: [RegisterIndex.origRax])
        printToStandardError("[replay] code point \(hex(target.rip)) passed with other registers: \(differences.joined(separator: "; "))")
      }
      rejected += 1
    }
  }

  /// A thread preempted at a code point: run it there and leave it stopped.
  func replayPreemption(_ event: PreemptionEvent, _ task: ReplayTask) throws {
    try runToCodePoint(event.registers, task, index: event.index, activity: "preemption at rip \(hex(event.registers.rip))")
  }
}
