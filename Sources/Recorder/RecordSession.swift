import CSupport
import Glibc
import LinuxTrace
import Syscalls
import TraceFormat

/// Records one program and every process it creates: spawns it traced, follows system
/// calls, signals, RDTSCs, forks and execs, and writes every event to the trace. All of it
/// runs on one pinned tracer thread.
///
/// Not here yet (DESIGN.md): a tracer thread per memory group recording independent
/// processes in parallel; the seccomp filter and in-process syscall buffer fast paths.
public final class RecordSession: @unchecked Sendable {
  let options: RecordOptions
  let writer: TraceWriter
  var tasks: [Int32: RecordedTask] = [:]
  var rootPid: Int32 = 0
  var rootStatus: ExitStatusOfRoot?
  var nextEventIndex: UInt64 = 0
  /// rewind's own stdout and stderr: writes that reach them are echoed by replay.
  let standardOutput = FileIdentity(ofOwnFD: 1)
  let standardError = FileIdentity(ofOwnFD: 2)
  private let liveLock = PthreadMutex()
  private var live: Set<Int32> = []

  public init(options: RecordOptions, writer: TraceWriter) {
    self.options = options
    self.writer = writer
  }

  /// The processes still running, for forwarding signals from another thread.
  public var liveProcesses: [Int32] { liveLock.withLock { Array(live) } }

  /// Records until every recorded process has exited. On an error all tracees are killed and
  /// reaped, and the trace keeps every event written before it.
  public func run(cpu: Int32?, onSpawn: @escaping (Int32) -> Void) throws -> RecordOutcome {
    try spawn(cpu: cpu)
    onSpawn(rootPid)
    do {
      try traceUntilAllExit()
      return RecordOutcome(exitStatus: rootStatus ?? .killed(SIGKILL), eventCount: nextEventIndex, traceDirectory: options.traceDirectory)
    } catch {
      for task in tasks.values { task.tracee.killAndReap() }
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
      rootPid = try TraceeSpawner.spawn(
        path: options.executablePath, arguments: options.arguments, environment: options.environment, cpu: cpu,
        errorPipe: errorPipe.write)
      close(errorPipe.write)
    } catch {
      close(errorPipe.write)
      throw RecordError.spawnFailed(path: options.executablePath, errno: error)
    }
    let root = RecordedTask(tid: rootPid, hasExecuted: false, awaitsAttachStop: false, isAnnounced: true)
    tasks[rootPid] = root
    setLive(rootPid, true)
    // The child stops itself with SIGSTOP before exec, so options are set before the exec.
    let first: WaitStatus
    do { first = try waitForTracee(rootPid) } catch { throw RecordError.ptraceFailed(operation: "waitpid", errno: error) }
    guard case .signalStop(let signal) = first, signal == .stop else {
      throw childFailedBeforeExec(status: first, errorPipe: errorPipe.read)
    }
    do {
      try root.tracee.setOptions([.traceSysGood, .traceExec, .traceExit, .exitKill, .traceFork, .traceVfork, .traceClone])
      try root.tracee.resume(.syscall)
    } catch {
      root.tracee.killAndReap()
      throw RecordError.ptraceFailed(operation: "PTRACE_SETOPTIONS", errno: error)
    }
  }

  private func childFailedBeforeExec(status: WaitStatus, errorPipe: Int32) -> RecordError {
    var childErrno: Int32 = 0
    let n = read(errorPipe, &childErrno, 4)
    let code: Int32 = if case .exited(let c) = status { c } else { 126 }
    return .execFailed(path: options.executablePath, errno: Errno(rawValue: n == 4 ? childErrno : EIO), exitCode: code)
  }

  func registers(of task: RecordedTask) throws -> Registers {
    do { return Registers(words: try task.tracee.registerWords()) } catch {
      throw RecordError.ptraceFailed(operation: "PTRACE_GETREGS on \(task.tid)", errno: error)
    }
  }

  func setLive(_ pid: Int32, _ isLive: Bool) {
    liveLock.withLock {
      if isLive { live.insert(pid) } else { live.remove(pid) }
    }
  }

  /// The main loop: one iteration per ptrace stop of any tracee.
  private func traceUntilAllExit() throws {
    while !tasks.isEmpty {
      let next: (tid: Int32, status: WaitStatus)?
      do { next = try waitForAnyTracee() } catch { throw RecordError.ptraceFailed(operation: "waitpid", errno: error) }
      guard let (tid, status) = next else { return }
      let task = tasks[tid] ?? adoptNewChild(tid)
      try handle(status, of: task)
    }
  }

  /// A child can report its first stop before its parent's fork event does.
  private func adoptNewChild(_ tid: Int32) -> RecordedTask {
    let task = RecordedTask(tid: tid, hasExecuted: true, awaitsAttachStop: true, isAnnounced: false)
    tasks[tid] = task
    setLive(tid, true)
    return task
  }

  private func handle(_ status: WaitStatus, of task: RecordedTask) throws {
    do {
      switch status {
      case .syscallStop:
        task.isInsideSyscall.toggle()
        if task.isInsideSyscall { try syscallEntered(task) } else { try syscallExited(task) }
      case .event(.exec):
        try execOccurred(task)
        try task.tracee.resume(.syscall)
      case .event(.fork), .event(.vfork), .event(.clone):
        try childCreated(by: task)
        try task.tracee.resume(.syscall)
      case .event(.exit):
        try task.tracee.resume(.continue)
      case .event:
        try task.tracee.resume(.syscall)
      case .signalStop(let signal):
        if task.awaitsAttachStop && signal == .stop {
          task.awaitsAttachStop = false
          if task.isAnnounced { try task.tracee.resume(.syscall) } else { task.isHeldAtAttachStop = true }
        } else {
          try signalArrived(signal, task)
        }
      case .exited(let code):
        processEnded(task, .exited(code: code))
      case .killed(let signal, let coreDumped):
        processEnded(task, .killed(signal: signal.rawValue, coreDumped: coreDumped))
      }
    } catch let error as Errno where error == .noSuchProcess {
      // Killed under us (SIGKILL from outside): its exit status arrives with the next wait.
    }
  }

  private func processEnded(_ task: RecordedTask, _ status: ExitStatus) {
    writer.append(.exit(ExitEvent(index: takeEventIndex(), tid: task.tid, status: status)))
    tasks[task.tid] = nil
    try? releaseVforkParent(of: task)
    setLive(task.tid, false)
    if task.tid == rootPid {
      switch status {
      case .exited(let code): rootStatus = .exited(code)
      case .killed(let signal, _): rootStatus = .killed(signal)
      }
    }
  }
}

/// A pthread mutex, so this module needs no Foundation.
final class PthreadMutex: @unchecked Sendable {
  private var mutex = pthread_mutex_t()
  init() { pthread_mutex_init(&mutex, nil) }
  deinit { pthread_mutex_destroy(&mutex) }
  func withLock<T>(_ body: () -> T) -> T {
    pthread_mutex_lock(&mutex)
    defer { pthread_mutex_unlock(&mutex) }
    return body()
  }
}

/// Reads live tracee memory for the system call table.
struct LiveMemory: TraceeMemoryReading {
  let tracee: Tracee
  func readBytes(at address: UInt64, count: Int) throws -> [UInt8] {
    try tracee.readMemory(at: address, count: count)
  }
}
