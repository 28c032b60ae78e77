import LinuxTrace
import TraceFormat

/// One replayed process: its recorded pid and the real process standing in for it.
final class ReplayTask {
  let recordedTid: Int32
  let tracee: Tracee
  var realTid: Int32 { tracee.tid }
  /// The tracee sits at a PTRACE_SYSEMU entry stop; resuming with PTRACE_SYSCALL will first
  /// report a syscall-exit-stop for the skipped call, which carries no news.
  var atEmulatedEntry = false
  /// A signal to deliver with the next resume (the recording delivered it here).
  var signalToDeliver: Signal?
  /// A vfork parent runs on (in the kernel) until its child execs or exits; its syscall-exit
  /// stop is collected before it is next needed, and given this recorded result.
  var pendingForkResult: (event: SyscallEvent, outputs: [MemoryChunk])?

  init(recordedTid: Int32, realTid: Int32) {
    self.recordedTid = recordedTid
    self.tracee = Tracee(tid: realTid)
  }
}
