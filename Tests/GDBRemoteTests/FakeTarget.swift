import Foundation

@testable import GDBRemote

/// A target made of data: threads, registers and memory as given, and resumes that
/// replay a script of stops, forward or backward. The server loop is tested on it.
final class FakeTarget: ReversibleTarget {
  struct NoSuchThread: Error {}
  struct UnmappedMemory: Error { let address: UInt64 }

  var threads: [ThreadID]
  var registerFiles: [ThreadID: RegisterFile]
  /// Mapped regions: start address and contents.
  var memory: [(start: UInt64, bytes: [UInt8])]
  /// The stops a forward resume walks through; backward walks them in reverse.
  var script: [StopReason]
  private(set) var position = 0
  private(set) var resumes: [([ResumeAction], Direction)] = []
  private var checkpoints: [Int] = []

  init(
    threads: [ThreadID], registerFiles: [ThreadID: RegisterFile] = [:],
    memory: [(start: UInt64, bytes: [UInt8])] = [], script: [StopReason] = []
  ) {
    self.threads = threads
    self.registerFiles = registerFiles
    self.memory = memory
    self.script = script
  }

  func registers(of thread: ThreadID) throws -> RegisterFile {
    guard threads.contains(thread) else { throw NoSuchThread() }
    return registerFiles[thread] ?? RegisterFile()
  }

  func readMemory(at address: UInt64, count: Int) throws -> [UInt8] {
    for region in memory where address >= region.start && address - region.start + UInt64(count) <= UInt64(region.bytes.count) {
      let offset = Int(address - region.start)
      return Array(region.bytes[offset..<offset + count])
    }
    throw UnmappedMemory(address: address)
  }

  func resume(_ actions: [ResumeAction]) throws -> StopReason {
    try resume(actions, direction: .forward)
  }

  /// Forward past the last scripted stop is the end of history; backward before the
  /// first is its beginning, as a replay reports them.
  func resume(_ actions: [ResumeAction], direction: Direction) throws -> StopReason {
    resumes.append((actions, direction))
    if let resumeFailure { throw resumeFailure }
    let thread = threads[0]
    if blocksUntilInterrupted {
      // Like a replay running far: only interrupt() ends it. The timeout keeps a broken
      // server from hanging the test; the stop it gives is one no test expects.
      resumeStarted.signal()
      guard interruption.wait(timeout: .now() + 5) == .success else {
        return .signal(5, thread: thread, cause: .historyEnd)
      }
      return .signal(2, thread: thread)
    }
    switch direction {
    case .forward:
      guard position < script.count else { return .signal(5, thread: thread, cause: .historyEnd) }
      position += 1
      return script[position - 1]
    case .backward:
      guard position > 1 else {
        position = 0
        return .signal(5, thread: thread, cause: .historyBegin)
      }
      position -= 1
      return script[position - 1]
    }
  }

  var currentStop: StopReason {
    position == 0 ? .signal(5, thread: threads[0]) : script[position - 1]
  }
  private(set) var breakpoints: Set<Breakpoint> = []
  private(set) var syscallCatch: GDBRequest.SyscallCatch = .none
  /// Thrown by every resume when set.
  var resumeFailure: TargetError?
  /// Makes a resume block until `interrupt()`, as a long replay would.
  var blocksUntilInterrupted = false
  /// Signalled when a blocking resume starts, so a test sends ^C only then.
  let resumeStarted = DispatchSemaphore(value: 0)
  private let interruption = DispatchSemaphore(value: 0)
  private let lock = NSLock()
  private var interruptCount = 0
  /// interrupt() comes from the server's watcher thread, hence the lock.
  var interrupts: Int { lock.withLock { interruptCount } }
  private(set) var killed = false
  /// Target paths gdb may read, and where they are on this machine.
  var files: [String: String] = [:]
  var auxv: [UInt8] = []
  var executable = "/usr/bin/fake"

  func writeMemory(at address: UInt64, bytes: [UInt8]) throws {
    throw TargetError.refused("a replay cannot change memory outside a diversion")
  }

  func writeRegisters(_ registers: RegisterFile, of thread: ThreadID) throws {
    throw TargetError.refused("a replay cannot change registers outside a diversion")
  }

  func interrupt() {
    lock.withLock { interruptCount += 1 }
    interruption.signal()
  }
  func insertBreakpoint(_ breakpoint: Breakpoint) throws { breakpoints.insert(breakpoint) }
  func removeBreakpoint(_ breakpoint: Breakpoint) throws { breakpoints.remove(breakpoint) }
  func catchSyscalls(_ which: GDBRequest.SyscallCatch) throws { syscallCatch = which }

  func monitor(_ command: String) throws -> String {
    switch command {
    case "when": return "Current event: \(position)\n"
    case "help": return "when: the current event\n"
    default: throw TargetError("unknown monitor command '\(command)'; try 'monitor help'")
    }
  }

  func auxiliaryVector() throws -> [UInt8] { auxv }
  func executablePath(pid: Int32?) throws -> String { executable }
  func hostPath(forTargetFile path: String) -> String? { files[path] }
  /// `/proc/PID/name` answers, by "PID/name" (PID in decimal).
  var procFiles: [String: ProcFile] = [:]
  func procFile(pid: Int32, name: String) -> ProcFile? { procFiles["\(pid)/\(name)"] }
  func kill() { killed = true }

  func checkpoint() throws -> CheckpointID {
    checkpoints.append(position)
    return CheckpointID(checkpoints.count - 1)
  }

  func restore(_ checkpoint: CheckpointID) throws {
    position = checkpoints[checkpoint.rawValue]
  }
}
