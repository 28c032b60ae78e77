import CSupport
import Glibc
import LinuxTrace
import Syscalls
import TraceFormat

/// Records one program: spawns it traced, follows its system calls, signals and RDTSCs, and
/// writes every event to the trace. All of it runs on one pinned tracer thread.
///
/// The fast paths of DESIGN.md (seccomp filter, in-process syscall buffer) are not here yet:
/// every system call costs a syscall-entry and a syscall-exit stop.
public final class RecordSession {
  let options: RecordOptions
  let writer: TraceWriter
  var tracee: Tracee!
  var pid: Int32 = 0
  var nextEventIndex: UInt64 = 0
  /// The call between its syscall-entry and syscall-exit stops.
  var pendingCall: PendingCall?
  /// An exec event seen between execve's entry and exit; written after the execve event.
  var pendingExec: ExecEvent?
  var warnedAboutChildren = false
  /// Until the first exec the tracee runs rewind's own spawning code, which is not recorded.
  var hasExecuted = false
  /// Between a syscall-entry stop and its syscall-exit stop.
  var isInsideSyscall = false

  struct PendingCall {
    var call: Syscall
    var entryRegisters: Registers
    var inputs: [MemoryChunk]
    var index: UInt64
  }

  public init(options: RecordOptions, writer: TraceWriter) {
    self.options = options
    self.writer = writer
  }

  /// Records until the program exits. On an error the tracee is killed and reaped, and the
  /// trace keeps every event written before it.
  public func run(cpu: Int32?, onSpawn: @escaping (Int32) -> Void) throws -> RecordOutcome {
    try spawn(cpu: cpu)
    onSpawn(pid)
    do {
      let status = try traceUntilExit()
      return RecordOutcome(exitStatus: status, eventCount: nextEventIndex, traceDirectory: options.traceDirectory)
    } catch {
      tracee.killAndReap()
      throw error
    }
  }

  func takeEventIndex() -> UInt64 {
    defer { nextEventIndex += 1 }
    return nextEventIndex
  }

  private func spawn(cpu: Int32?) throws {
    let errorPipe: (read: Int32, write: Int32)
    do { errorPipe = try makeCloseOnExecPipe() } catch { throw RecordError.spawnFailed(path: options.executablePath, errno: error) }
    defer { close(errorPipe.read) }
    do {
      pid = try TraceeSpawner.spawn(
        path: options.executablePath, arguments: options.arguments, environment: options.environment, cpu: cpu,
        errorPipe: errorPipe.write)
      close(errorPipe.write)
    } catch {
      close(errorPipe.write)
      throw RecordError.spawnFailed(path: options.executablePath, errno: error)
    }
    tracee = Tracee(tid: pid)
    // The child stops itself with SIGSTOP before exec, so options are set before the exec.
    let first = try wait()
    guard case .signalStop(let signal) = first, signal == .stop else {
      throw childFailedBeforeExec(status: first, errorPipe: errorPipe.read)
    }
    do {
      try tracee.setOptions([.traceSysGood, .traceExec, .traceExit, .exitKill])
      try tracee.resume(.syscall)
    } catch {
      tracee.killAndReap()
      throw RecordError.ptraceFailed(operation: "PTRACE_SETOPTIONS", errno: error)
    }
  }

  private func childFailedBeforeExec(status: WaitStatus, errorPipe: Int32) -> RecordError {
    var childErrno: Int32 = 0
    let n = read(errorPipe, &childErrno, 4)
    let code: Int32 = if case .exited(let c) = status { c } else { 126 }
    return .execFailed(path: options.executablePath, errno: Errno(rawValue: n == 4 ? childErrno : EIO), exitCode: code)
  }

  func wait() throws -> WaitStatus {
    do { return try waitForTracee(pid) } catch { throw RecordError.ptraceFailed(operation: "waitpid", errno: error) }
  }

  func registers() throws -> Registers {
    do { return Registers(words: try tracee.registerWords()) } catch {
      throw RecordError.ptraceFailed(operation: "PTRACE_GETREGS", errno: error)
    }
  }

  /// The main loop: one iteration per ptrace stop.
  private func traceUntilExit() throws -> ExitStatusOfRoot {
    while true {
      let status = try wait()
      switch status {
      case .syscallStop:
        // Entry and exit stops alternate (an exec event or a signal stop may come between
        // them); tracking that ourselves saves a PTRACE_GET_SYSCALL_INFO per stop, and each
        // ptrace call costs microseconds in a VM.
        isInsideSyscall.toggle()
        if isInsideSyscall { try syscallEntered() } else { try syscallExited() }
      case .event(.exec):
        try execOccurred()
        try tracee.resume(.syscall)
      case .event(.exit):
        try tracee.resume(.continue)
      case .event:
        try tracee.resume(.syscall)
      case .signalStop(let signal):
        try signalArrived(signal)
      case .exited(let code):
        writer.append(.exit(ExitEvent(index: takeEventIndex(), tid: pid, status: .exited(code: code))))
        return .exited(code)
      case .killed(let signal, let coreDumped):
        writer.append(
          .exit(ExitEvent(index: takeEventIndex(), tid: pid, status: .killed(signal: signal.rawValue, coreDumped: coreDumped))))
        return .killed(signal.rawValue)
      }
    }
  }
}

/// Reads live tracee memory for the system call table.
struct LiveMemory: TraceeMemoryReading {
  let tracee: Tracee
  func readBytes(at address: UInt64, count: Int) throws -> [UInt8] {
    try tracee.readMemory(at: address, count: count)
  }
}
