import CSupport
import Glibc
import LinuxTrace
import Syscalls
import TraceFormat

/// Options for replaying a trace without a debugger.
public struct ReplayOptions: Sendable {
  public var traceDirectory: String
  /// Echo what the program wrote to fds 1 and 2, so a replay looks like the original run.
  public var echoOutput: Bool
  public init(traceDirectory: String, echoOutput: Bool) {
    self.traceDirectory = traceDirectory
    self.echoOutput = echoOutput
  }
}

public struct ReplayOutcome: Sendable {
  public var eventsReplayed: UInt64
  /// How the recorded process ended; nil when the recording stops before it did.
  public var exitStatus: ExitStatus?
  /// The trace ends before the process did (the recorder was killed).
  public var recordingEndedEarly: Bool
}

/// Replays one recorded process to its end, emulating what it cannot compute itself.
///
/// Input and I/O calls are not performed: replay stops the tracee at their entry with
/// PTRACE_SYSEMU and writes the recorded result and memory. Calls that shape the address
/// space or signal state are performed for real, with PTRACE_SYSCALL, and their results
/// checked. Every event compares registers with the recording.
public final class ReplaySession {
  let options: ReplayOptions
  let reader: TraceReader
  let cursor: EventCursor
  var tracee: Tracee!
  var pid: Int32 = 0
  /// The tracee sits at a PTRACE_SYSEMU entry stop; resuming with PTRACE_SYSCALL will first
  /// report a syscall-exit-stop for the skipped call, which carries no news.
  var atEmulatedEntry = false
  /// A signal to deliver with the next resume (the recording delivered it here).
  var signalToDeliver: Signal?
  /// Saved files already opened, by content hash.
  var savedFiles: [String: Int32] = [:]

  public init(options: ReplayOptions) throws(ReplayError) {
    self.options = options
    do { reader = try TraceReader(directory: options.traceDirectory) } catch { throw .trace(error) }
    cursor = EventCursor(reader: reader)
  }

  deinit { for fd in savedFiles.values { close(fd) } }

  /// Replays to the end of the recording. Throws a `Divergence` when replay and recording part.
  public func run(cpu: Int32?) throws -> ReplayOutcome {
    try start(cpu: cpu)
    do {
      while let event = try cursor.next() {
        switch event {
        case .syscall(let e): try replaySyscall(e)
        case .signal(let e): try replaySignal(e)
        case .rdtsc(let e): try replayTimeStamp(e)
        case .exit(let e):
          try replayExit(e)
          return ReplayOutcome(eventsReplayed: cursor.consumed, exitStatus: e.status, recordingEndedEarly: false)
        case .exec(let e):
          throw Divergence(eventIndex: e.index, tid: e.tid, activity: "exec", differences: ["an exec event without its execve call"])
        }
      }
    } catch {
      tracee.killAndReap()
      throw error
    }
    // The recorder was killed (or stopped by an error): everything recorded has replayed.
    tracee.killAndReap()
    return ReplayOutcome(eventsReplayed: cursor.consumed, exitStatus: nil, recordingEndedEarly: true)
  }

  /// Spawns the saved executable with the recorded argv and environment and replays the
  /// first execve, which the recording starts with.
  private func start(cpu: Int32?) throws {
    guard let first = try cursor.peek() else {
      throw ReplayError.setup(
        "the trace at \(options.traceDirectory) holds no events: the recorder stopped before it wrote its first frame"
          + (cursor.endedEarly ? " (it was killed)" : ""))
    }
    guard case .syscall(let execve)? = try cursor.next(), execve.number == 59,
      case .exec(let exec)? = try cursor.peek()
    else {
      throw ReplayError.setup(
        "the trace at \(options.traceDirectory) does not start with the program's execve (it starts with event \(first.index)); it cannot be replayed")
    }
    let executablePath = reader.savedFilePath(for: exec.executable)
    guard access(executablePath, R_OK) == 0 else {
      throw ReplayError.trace(.missingFile(path: executablePath, hash: exec.executable.contentHash, originalPath: exec.executable.originalPath))
    }
    let devNull = open("/dev/null", O_RDONLY | O_CLOEXEC)
    defer { close(devNull) }
    do {
      pid = try TraceeSpawner.spawn(
        path: executablePath, arguments: exec.argv, environment: exec.envp, cpu: cpu, standardInput: devNull,
        disableCoreDumps: true)
    } catch {
      throw ReplayError.setup("cannot start the replay process: \(error)")
    }
    tracee = Tracee(tid: pid)
    do {
      guard case .signalStop(.stop) = try waitForTracee(pid) else {
        throw ReplayError.setup("the replay process did not reach its first stop")
      }
      try tracee.setOptions([.traceSysGood, .traceExec, .traceExit, .exitKill])
      try performExec(execve, checkEntry: false)
    } catch {
      tracee.killAndReap()
      throw error
    }
  }
}

