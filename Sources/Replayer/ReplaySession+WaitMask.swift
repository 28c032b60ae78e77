import Glibc
import LinuxTrace
import Syscalls
import TraceFormat

/// Calls that put a signal mask of the caller's in force while they wait, and where that
/// mask's address is among their arguments.
enum WaitMaskArgument {
  /// The argument is the mask's address.
  case direct(Int)
  /// The argument points to `{ const sigset_t *mask; size_t size; }` (pselect6).
  case indirect(Int)
}

let waitMaskArguments: [String: WaitMaskArgument] = [
  "rt_sigsuspend": .direct(0), "ppoll": .direct(3), "epoll_pwait": .direct(4),
  "epoll_pwait2": .direct(4), "pselect6": .indirect(5),
]

extension ReplaySession {
  /// Where the mask of an interrupted mask-swapping call is, if `event` is one.
  ///
  /// While recording, the kernel put that mask in force for the call, a signal it let
  /// through interrupted the call, and the signal was delivered with the mask still in
  /// force (the frame keeps the old mask for sigreturn). Replay emulates the call, so the
  /// program's usual mask, which may block that signal (make blocks SIGCHLD except in
  /// pselect6), is in force instead.
  func interruptedWaitMask(of event: SyscallEvent, _ call: Syscall, _ task: ReplayTask) -> UInt64? {
    guard event.result == -Int64(EINTR) || (-516 ... -512).contains(event.result),
      let argument = waitMaskArguments[call.name]
    else { return nil }
    let arguments = event.entryRegisters.syscallArguments
    switch argument {
    case .direct(let index):
      return arguments[index] == 0 ? nil : arguments[index]
    case .indirect(let index):
      guard arguments[index] != 0, let address = try? task.tracee.readValue(at: arguments[index], size: 8), address != 0
      else { return nil }
      return address
    }
  }

  /// Puts the mask of the call `task` was interrupted in back in force, the way the kernel
  /// had it when it delivered `signal`, which is already pending: an injected rt_sigsuspend
  /// with that mask returns at once (the signal is pending and let through) and leaves the
  /// kernel set to deliver the signal under that mask and to restore the usual one at
  /// sigreturn, exactly as after the recorded call.
  func restoreInterruptedWaitMask(at mask: UInt64, for signal: Signal, _ task: ReplayTask, index: UInt64) throws {
    guard let words = try? task.tracee.readValue(at: mask, size: 8) else {
      throw Divergence(
        eventIndex: index, tid: task.recordedTid, activity: "signal \(signal)",
        differences: ["cannot read the signal mask at \(hex(mask)) that the interrupted call put in force"])
    }
    // A mask blocking the signal could not have let it interrupt the call.
    guard words & (1 << UInt64(signal.rawValue - 1)) == 0 else { return }
    guard case .success(let stop) = injectionStop(task),
      let instruction = syscallInstruction(for: task, rip: try currentRegisters(task).rip)
    else {
      throw Divergence(
        eventIndex: index, tid: task.recordedTid, activity: "signal \(signal)",
        differences: ["cannot put back the signal mask of the interrupted call: no system call can be injected here"])
    }
    let rtSigsuspend = SyscallTable.syscall(named: "rt_sigsuspend")!.number
    let result = try injectSyscall(rtSigsuspend, [mask, 8], in: task, from: stop, using: instruction)
    guard result == -514 else {
      throw Divergence(
        eventIndex: index, tid: task.recordedTid, activity: "signal \(signal)",
        differences: ["rt_sigsuspend injected to put back the interrupted call's signal mask returned \(result), not -ERESTARTNOHAND"])
    }
  }
}
