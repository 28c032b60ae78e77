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
    let thread = threads[0]
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

  func checkpoint() throws -> CheckpointID {
    checkpoints.append(position)
    return CheckpointID(checkpoints.count - 1)
  }

  func restore(_ checkpoint: CheckpointID) throws {
    position = checkpoints[checkpoint.rawValue]
  }
}
