import Glibc
import LinuxTrace
import Syscalls

extension ReplaySession {
  /// Waits for the next stop of tracee `tid`, under `StallWatch`: a tracee that will never
  /// stop again ends the replay with a `ReplayStalled` report instead of a silent hang.
  func waitForStop(of tid: Int32) throws -> WaitStatus {
    guard debugger == nil else { return try waitForTracee(tid) }  // gdb's stops are the user's
    if stallWatch == nil {
      // Made here, on the tracer thread, which its signal must wake.
      stallWatch = StallWatch(recordingSeconds: reader.summary.map { $0.endTime.timeIntervalSince(reader.header.startTime) })
    }
    let watch = stallWatch!
    do {
      return try watch.waiting(for: tid) { () throws(Errno) -> WaitStatus in
        try waitForTracee(tid, givesUp: { watch.hasStalled })
      }
    } catch let error as Errno where error.rawValue == EINTR {
      throw stalledReport(awaiting: tid)
    }
  }

  /// What every thread of the replay was doing when replay found it could not go on.
  private func stalledReport(awaiting tid: Int32) -> ReplayStalled {
    func line(_ task: ReplayTask) -> String {
      let state = SchedulingState(tid: task.realTid)
      var text = "thread \(task.recordedTid) (here \(task.realTid)): \(state.description)"
      if let call = currentCall(of: task.realTid) { text += ", \(call)" }
      return text
    }
    let awaited = tasks.values.first { $0.realTid == tid }
    let awaitedText = awaited.map { "thread \($0.recordedTid) (here \(tid))" } ?? "tracee \(tid)"
    let state = SchedulingState(tid: tid).description
    return ReplayStalled(
      eventIndex: cursor.consumed, awaited: "\(awaitedText), which is \(state) and will not stop again",
      threads: tasks.values.sorted { $0.recordedTid < $1.recordedTid }.map(line))
  }

  /// The system call a thread is in, from /proc/TID/syscall ("running" when in user space).
  func currentCall(of tid: Int32) -> String? { callInProgress(of: tid) }
}

/// The system call a thread is in ("in pause"), from /proc/TID/syscall; "in user space"
/// when it runs there.
func callInProgress(of tid: Int32) -> String? {
  guard let text = try? readProcFile("/proc/\(tid)/syscall"),
    let first = text.split(whereSeparator: { $0 == " " || $0 == "\n" }).first
  else { return nil }
  if first == "running" { return "in user space" }
  guard let number = Int(first), number >= 0 else { return nil }
  let name = SyscallTable.syscall(numbered: number)?.name ?? "system call \(number)"
  return "in \(name)"
}
