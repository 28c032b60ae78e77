import Foundation
import LinuxTrace
import Testing
import TraceFormat

@testable import Replayer

/// The watch that turns a replay waiting for ever into a report, against real tracees.
@Suite struct StallWatchTests {
  /// A tracee whose stop was already collected never reports again (the java hang: a leader
  /// at its exit stop): the watch wakes the waiting thread, which gives up with EINTR.
  @Test(.timeLimit(.minutes(1))) func aStopAlreadyCollectedEndsTheWait() {
    let outcome = TracerThread.run(pinnedTo: nil) {
      Result { () throws -> WaitStatus in
        let pid = try TraceeSpawner.spawn(path: "/bin/sleep", arguments: ["sleep", "100"], environment: [], cpu: nil)
        defer { Tracee(tid: pid).killAndReap() }
        _ = try waitForTracee(pid)  // its stop before exec, collected and never resumed
        let watch = StallWatch(recordingSeconds: nil, patience: 0.3, blockedPatience: 5)
        return try watch.waiting(for: pid) { () throws(Errno) -> WaitStatus in
          try waitForTracee(pid, givesUp: { watch.hasStalled })
        }
      }
    }
    #expect { try outcome.get() } throws: { ($0 as? Errno)?.rawValue == EINTR }
  }

  /// A tracee that sleeps in the kernel for less than the blocked patience, then ends: the
  /// wait ends with its exit, not a false alarm.
  @Test(.timeLimit(.minutes(1))) func aTraceeBlockedForAWhileIsWaitedFor() throws {
    let outcome = TracerThread.run(pinnedTo: nil) {
      Result { () throws -> WaitStatus in
        let pid = try TraceeSpawner.spawn(path: "/bin/sleep", arguments: ["sleep", "0.8"], environment: [], cpu: nil)
        let tracee = Tracee(tid: pid)
        defer { tracee.killAndReap() }
        _ = try waitForTracee(pid)
        let watch = StallWatch(recordingSeconds: nil, patience: 0.2, blockedPatience: 5)
        while true {
          try tracee.resume(.continue)
          let status = try watch.waiting(for: pid) { () throws(Errno) -> WaitStatus in
            try waitForTracee(pid, givesUp: { watch.hasStalled })
          }
          switch status {
          case .signalStop(.trap): continue  // the exec (no PTRACE_O_TRACEEXEC)
          case .signalStop(.segmentationFault):
            // The spawner traps RDTSC; the loader reads the clock.
            var registers = Registers(words: try tracee.registerWords())
            guard let instruction = tracee.timeStampInstruction(at: registers.rip) else { return status }
            (registers.rax, registers.rdx) = (0, 0)
            if instruction == .rdtscp { registers.rcx = 0 }
            registers.rip += instruction.length
            try tracee.setRegisterWords(registers.words)
          default: return status
          }
        }
      }
    }
    #expect(try outcome.get() == .exited(code: 0))
  }

  /// A tracee at its PTRACE_EVENT_EXIT stop, already collected, ignores SIGKILL (it is
  /// exiting): cleaning up after a failed replay once waited for it for ever.
  @Test(.timeLimit(.minutes(1))) func killingATraceeAtItsCollectedExitStopEnds() throws {
    let status = TracerThread.run(pinnedTo: nil) {
      Result { () throws -> WaitStatus in
        let pid = try TraceeSpawner.spawn(path: "/bin/sleep", arguments: ["sleep", "100"], environment: [], cpu: nil)
        let tracee = Tracee(tid: pid)
        _ = try waitForTracee(pid)
        try tracee.setOptions([.traceExit, .exitKill])
        try tracee.resume(.continue, signal: .terminate)
        let exitStop = try waitForTracee(pid)
        Tracee.killAndReapAll([tracee])
        return exitStop
      }
    }
    #expect(try status.get() == .event(.exit))
  }
}
