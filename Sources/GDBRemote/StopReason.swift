/// Why the target stopped, as the stop reply (`T`, `W`, `X`) reports it.
public enum StopReason: Hashable, Sendable {
  /// A thread stopped with `signal` (5, SIGTRAP, for breakpoints, steps and syscall stops).
  case signal(UInt8, thread: ThreadID, cause: Cause? = nil)
  /// The process exited with `status` (the recording ended there).
  case exited(status: UInt8, pid: Int32)
  /// The process was killed by `signal`.
  case killed(signal: UInt8, pid: Int32)

  /// What made a SIGTRAP stop happen, so gdb need not guess from the pc.
  public enum Cause: Hashable, Sendable {
    case softwareBreakpoint
    case hardwareBreakpoint
    /// `kind` is one of the watchpoint kinds; gdb names `watch`, `rwatch`, `awatch`.
    case watchpoint(Breakpoint.Kind, address: UInt64)
    case syscallEntry(Int)
    case syscallReturn(Int)
    /// Reverse execution reached the start of the recording (`replaylog:begin`),
    /// or forward execution its end.
    case historyBegin
    case historyEnd
    /// The thread's process exec'd this program (gdb loads its symbols anew).
    case exec(path: String)
  }
}
