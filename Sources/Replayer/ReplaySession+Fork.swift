import Glibc
import LinuxTrace
import Syscalls
import TraceFormat

/// clone(2) flags.
private let cloneVM: UInt64 = 0x100
private let cloneVfork: UInt64 = 0x4000
private let cloneThread: UInt64 = 0x0001_0000
private let cloneChildSetTID: UInt64 = 0x0100_0000
private let cloneParentSetTID: UInt64 = 0x0010_0000

extension ReplaySession {
  /// Replays fork, vfork, clone and clone3 by performing them: the child is a real process
  /// whose memory is the parent's, and the calls return the recorded pids.
  func performFork(_ event: SyscallEvent, _ call: Syscall, _ task: ReplayTask) throws {
    let activity = "syscall \(call.name)"
    let entry = try checkEntry(try resumeAndWait(task, .syscall), event, task, activity: activity)
    try task.tracee.resume(.syscall)
    let forkStop = try waitForNews(task, .syscall)
    guard forkStop == .event(.fork) || forkStop == .event(.vfork) || forkStop == .event(.clone) else {
      throw unexpected(forkStop, task, index: event.index, activity: activity, expected: "a new process \(event.result)")
    }
    let realChild = Int32(truncatingIfNeeded: try task.tracee.eventMessage())
    var flags: UInt64 = 0
    if call.name == "clone" { flags = entry.rdi }
    if call.name == "clone3" { flags = (try? task.tracee.readWord(at: entry.rdi)) ?? 0 }
    let isThread = flags & cloneThread != 0
    let child = ReplayTask(
      recordedTid: Int32(truncatingIfNeeded: event.result), realTid: realChild, realTgid: isThread ? task.realTgid : realChild,
      recordedTgid: isThread ? task.recordedTgid : nil)
    tasks[child.recordedTid] = child
    if !isThread { child.syscallBuffer = task.syscallBuffer }
    guard case .signalStop(.stop) = try waitForStop(of: realChild) else {
      throw ReplayError.setup("the replayed child \(realChild) of \(task.recordedTid) did not stop at its start")
    }
    // The kernel wrote the real tid where the program asked (glibc's fork and
    // pthread_create: the new thread's tid field); the program must see the recorded one.
    let recordedTid = (0..<4).map { UInt8(truncatingIfNeeded: UInt32(bitPattern: child.recordedTid) >> (8 * UInt32($0))) }
    if flags & cloneChildSetTID != 0 {
      let address = call.name == "clone" ? entry.r10 : ((try? task.tracee.readWord(at: entry.rdi + 16)) ?? 0)
      try child.tracee.writeMemory(at: address, bytes: recordedTid)
    }
    if flags & cloneParentSetTID != 0 {
      let address = call.name == "clone" ? entry.rdx : ((try? task.tracee.readWord(at: entry.rdi + 24)) ?? 0)
      try task.tracee.writeMemory(at: address, bytes: recordedTid)
    }
    let isVfork = call.name == "vfork" || flags & cloneVfork != 0
    if !isThread && (isVfork || flags & cloneVM != 0) { addressSpaces.share(task.realTgid, child.realTgid) }
    try debugger?.taskCreated(child, by: task, isThread: isThread, isVfork: isVfork)
    try task.tracee.resume(.syscall)
    if isVfork {
      // The parent stays in the kernel until the child execs or exits.
      task.pendingForkResult = (event, event.outputs)
      return
    }
    let exit = try waitForNews(task, .syscall)
    guard exit == .syscallStop, try task.tracee.syscallStopKind() == .exit else {
      throw unexpected(exit, task, index: event.index, activity: activity, expected: "\(call.name) returns \(event.result)")
    }
    try finishFork(event, event.outputs, task)
  }

  /// At the parent's syscall-exit stop: the recorded child pid, and the memory the call
  /// wrote in the parent (CLONE_PARENT_SETTID).
  func finishFork(_ event: SyscallEvent, _ outputs: [MemoryChunk], _ task: ReplayTask) throws {
    var registers = try currentRegisters(task)
    registers.rax = UInt64(bitPattern: event.result)
    try setRegisters(registers, task)
    for output in outputs { try task.tracee.writeMemory(at: output.address, bytes: output.bytes) }
  }
}
