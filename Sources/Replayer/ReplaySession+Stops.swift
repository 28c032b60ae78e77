import Glibc
import LinuxTrace
import TraceFormat

extension ReplaySession {
  /// Resumes the tracee (delivering a signal the recording delivered here) and waits for the
  /// next stop that means something.
  func resumeAndWait(_ mode: ResumeMode) throws -> WaitStatus {
    let signal = signalToDeliver
    signalToDeliver = nil
    var skipExitStop = atEmulatedEntry && mode == .syscall
    atEmulatedEntry = false
    try tracee.resume(mode, signal: signal)
    while true {
      let status = try waitForTracee(pid)
      if debugStops { printToStandardError("[replay] resumed \(mode) signal \(String(describing: signal)) -> \(status) \(status == .syscallStop ? "\(try tracee.syscallStopKind()) nr \(Int64(bitPattern: try currentRegisters().origRax))" : "")") }
      if status == .syscallStop, skipExitStop, try tracee.syscallStopKind() == .exit {
        // After a PTRACE_SYSEMU stop, PTRACE_SYSCALL reports the skipped call's exit too.
        skipExitStop = false
        try tracee.resume(mode)
        continue
      }
      return status
    }
  }

  func currentRegisters() throws -> Registers { Registers(words: try tracee.registerWords()) }

  func setRegisters(_ registers: Registers) throws { try tracee.setRegisterWords(registers.words) }

  /// A divergence for a stop that the recording did not have here.
  func unexpected(_ status: WaitStatus, index: UInt64, tid: Int32, activity: String, expected: String) -> Divergence {
    let found: String
    switch status {
    case .exited(let code): found = "the process exited with status \(code)"
    case .killed(let signal, _): found = "the process was killed by \(signal)"
    case .signalStop(let signal): found = "the process received \(signal)" + ((try? currentRegisters()).map { " at rip \(hex($0.rip))" } ?? "")
    case .syscallStop:
      let number = (try? currentRegisters()).map { String(Int64(bitPattern: $0.origRax)) } ?? "?"
      found = "the process made system call \(number)"
    case .event(let event): found = "ptrace event \(event)"
    }
    return Divergence(eventIndex: index, tid: tid, activity: activity, differences: ["recorded: \(expected)", "replayed: \(found)"])
  }
}

/// REWIND_DEBUG_STOPS=1 prints every ptrace stop replay sees, for debugging rewind itself.
let debugStops = getenv("REWIND_DEBUG_STOPS") != nil
