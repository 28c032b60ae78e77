import LinuxTrace
import TraceFormat

/// One replayed process: its recorded pid and the real process standing in for it.
final class ReplayTask {
  let recordedTid: Int32
  let tracee: Tracee
  var realTid: Int32 { tracee.tid }
  /// The real thread group (process) id: the task's own for a process, its process's for a
  /// thread. tgkill needs it.
  let realTgid: Int32
  /// The recorded pid of the task's process (its own for a process's main thread).
  let recordedTgid: Int32
  /// exit_group ran and the task sits at its PTRACE_EVENT_EXIT stop.
  var isAtExitStop = false
  /// exit ran through: the thread is gone, its status waits to be reaped.
  var isExiting = false
  /// The status of a thread that exited (and was reaped) before its exit event.
  var exitedStatus: WaitStatus?
  /// The tracee sits at a PTRACE_SYSEMU entry stop; resuming with PTRACE_SYSCALL will first
  /// report a syscall-exit-stop for the skipped call, which carries no news.
  var atEmulatedEntry = false
  /// Between a system call's entry stop and the end of its replay: resuming it continues
  /// the call in the kernel, where a debugger's single step does not belong.
  var insideSyscall = false
  /// The blocked signals when a debugger last resumed the task where a trap of its own
  /// could stop it: the kernel unblocks SIGTRAP to deliver such a trap, and the program
  /// must not see that.
  var signalMaskBeforeTrap: UInt64?
  /// The signal mask the debugger last read or set, while no event that can change it has
  /// replayed since (`ReplaySession.replay`): reading it before every resume cost one more
  /// ptrace call an event.
  var knownSignalMask: UInt64?
  /// A signal to deliver with the next resume (the recording delivered it here).
  var signalToDeliver: Signal?
  /// The last emulated call returned a restart code (-ERESTARTSYS...): resumed without a
  /// signal, the kernel would restart it, but after PTRACE_SYSEMU it does not look.
  var restartCode: Int64?
  /// The last emulated call swaps in a signal mask while it waits (pselect6, ppoll,
  /// epoll_pwait, rt_sigsuspend) and was interrupted: the address of that mask, until the
  /// task runs again. The recording delivered the interrupting signal with that mask in
  /// force, so replay must put it in force too.
  var interruptedWaitMask: UInt64?
  /// A vfork parent runs on (in the kernel) until its child execs or exits; its syscall-exit
  /// stop is collected before it is next needed, and given this recorded result.
  var pendingForkResult: (event: SyscallEvent, outputs: [MemoryChunk])?
  /// The thread's system call buffer (its address, once announced; a forked child's is its
  /// parent's copy), whether its library reads a feed, and the records put there for the
  /// run being replayed (`ReplaySession+BufferFeed.swift`).
  var syscallBuffer: UInt64?
  var bufferIsFed: Bool?
  var feed: BufferFeed?

  init(recordedTid: Int32, realTid: Int32, realTgid: Int32? = nil, recordedTgid: Int32? = nil) {
    self.recordedTid = recordedTid
    self.tracee = Tracee(tid: realTid)
    self.realTgid = realTgid ?? realTid
    self.recordedTgid = recordedTgid ?? recordedTid
  }
}
