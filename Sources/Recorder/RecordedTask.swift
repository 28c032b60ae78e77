import LinuxTrace
import Syscalls
import TraceFormat

/// What the recorder tracks for one traced process.
final class RecordedTask {
  /// Replaced only when an exec from another thread gives this thread its process's pid.
  private(set) var tracee: Tracee
  var tid: Int32 { tracee.tid }
  /// Between a syscall-entry stop and its syscall-exit stop. Entry and exit stops alternate
  /// (an exec event, a fork event or a signal stop may come between them); tracking that
  /// ourselves saves a PTRACE_GET_SYSCALL_INFO per stop, and each ptrace call costs
  /// microseconds in a VM.
  var isInsideSyscall = false
  /// The call between its syscall-entry and syscall-exit stops.
  var pendingCall: PendingCall?
  /// The last call that returned ERESTART_RESTARTBLOCK: a later restart_syscall goes on with
  /// it (the kernel keeps its restart block across the handler) and writes what it writes.
  var restartBlockCall: PendingCall?
  /// An exec event seen between execve's entry and exit; written after the execve event.
  var pendingExec: ExecEvent?
  /// Until the root's first exec it runs rewind's own spawning code, which is not recorded.
  var hasExecuted: Bool
  /// A new child's first stop (SIGSTOP) is ours, not the program's.
  var awaitsAttachStop: Bool
  /// The parent's fork event is written. Until then a child that already reached its first
  /// stop is held there, so that none of its events precede its creation in the trace.
  var isAnnounced: Bool
  var isHeldAtAttachStop = false
  /// A vfork parent is released by the kernel as soon as its child's exec replaces the
  /// shared memory, before the child's exec event is written. It is held at its
  /// syscall-exit stop until then, so that replay (which needs the exec to release the
  /// parent) meets the events in an order it can follow.
  var vforkChild: Int32?
  var isHeldAfterVfork = false
  /// A thread of another task's process (CLONE_THREAD), not a thread group leader.
  var isThread = false
  /// Its process's id (tgkill needs it).
  var tgid: Int32
  /// A SIGSTOP was sent to preempt it; its signal-delivery-stop is the preemption point.
  var isBeingPreempted = false
  /// Instructions single-stepped since that stop, moving the point to one replay can patch
  /// (`MemoryGroupTracer.preempted`).
  var preemptionSteps = 0
  /// A forked process that shares no writable memory with its parent: it is traced by a
  /// tracer thread of its own once it reaches its attach stop.
  var movesToOwnGroup = false
  /// Signals that reached a new child before its attach stop; sent again once it runs.
  var deferredSignals: [Signal] = []
  /// The parent of a child first seen before its fork event (from /proc), so that a child
  /// whose parent died before that event is not held forever.
  var parentPid: Int32?
  /// A vfork or posix_spawn child shares its parent's memory only until it execs; after
  /// that, it moves to a tracer of its own at its next system call.
  var sharesMemoryUntilExec = false
  var movesAtNextEntry = false
  /// How many calls of each `--inject` rule's set this thread has made (by rule index).
  var injectionCounts: [Int: Int] = [:]
  /// For a vfork child: the parent waiting for its exec or exit.
  var vforkParent: Int32?
  /// Its system call buffer, once the library announced it (nil without the buffer).
  var buffer: SyscallBufferCursor?
  /// Its rseq(2) area, registered with rewind (`MemoryGroupTracer.emulateRseq`).
  var rseq: RseqRegistration?

  /// The kernel gave this thread, which exec'd, its process's pid (`tid` is now the
  /// process's pid, and the old main thread is gone).
  func tookOverProcessID(_ pid: Int32) {
    tracee = Tracee(tid: pid)
    tgid = pid
    isThread = false
  }

  struct PendingCall {
    var call: Syscall
    /// The tid of the thread that entered it (an exec from another thread returns to the
    /// process's pid).
    var tid: Int32
    var entryRegisters: Registers
    var inputs: [MemoryChunk]
    /// A fork/vfork/clone is written at its PTRACE_EVENT_FORK stop, before the child's first
    /// event, so that replay creates the child before it needs it.
    var isWritten = false
    /// Its reserved position in the group's event order.
    var slot = 0
    /// `--inject` changed it: it was not run, and returns this.
    var injectedResult: Int64?
    /// An rseq call, which the kernel does not run: its exit stop emulates it.
    var emulatesRseq = false
  }

  init(tid: Int32, hasExecuted: Bool, awaitsAttachStop: Bool, isAnnounced: Bool) {
    tracee = Tracee(tid: tid)
    tgid = tid
    self.hasExecuted = hasExecuted
    self.awaitsAttachStop = awaitsAttachStop
    self.isAnnounced = isAnnounced
  }
}
