import Foundation

/// The hand-off between the tracer thread, which appends events, and the writer thread, which
/// takes them in batches to encode, compress and write.
///
/// The tracer only appends to an array under a mutex: events hold their memory in
/// copy-on-write arrays, so queueing one copies no tracee bytes, and all encoding and
/// compression happen on the writer thread.
final class EventQueue: @unchecked Sendable {
  /// Cut a frame once this many uncompressed bytes are pending (an estimate; see `estimate`).
  let frameByteTarget: Int
  /// Cut a frame this long after the first unflushed event, which bounds what a killed
  /// recorder loses.
  let flushInterval: TimeInterval
  /// Past this many pending bytes `append` waits for the writer: the disk or the compressor
  /// cannot keep up, and memory must stay bounded.
  let maximumPendingBytes: Int

  private let condition = NSCondition()
  private var pending: [TraceEvent] = []
  private var pendingBytes = 0
  private var firstPendingTime: Date?
  private var isClosed = false
  private var isWriterDone = false
  private(set) var appendedCount: UInt64 = 0
  private var writerError: SystemCallError?

  init(frameByteTarget: Int, flushInterval: TimeInterval, maximumPendingBytes: Int) {
    self.frameByteTarget = frameByteTarget
    self.flushInterval = flushInterval
    self.maximumPendingBytes = maximumPendingBytes
  }

  var count: UInt64 {
    condition.lock()
    defer { condition.unlock() }
    return appendedCount
  }

  func append(_ event: TraceEvent) {
    let size = Self.estimate(event)
    condition.lock()
    defer { condition.unlock() }
    precondition(!isClosed, "TraceWriter.append after finish")
    while pendingBytes > maximumPendingBytes && !isWriterDone {
      condition.wait()
    }
    appendedCount += 1
    // After a write error the writer is gone; `finish` reports the error.
    if isWriterDone { return }
    pending.append(event)
    let before = pendingBytes
    pendingBytes += size
    // Wake the writer only when its plan changes: to start the flush timer, or to cut a frame
    // now. Most appends signal nobody.
    if firstPendingTime == nil {
      firstPendingTime = Date()
      condition.broadcast()
    } else if before < frameByteTarget && pendingBytes >= frameByteTarget {
      condition.broadcast()
    }
  }

  /// Called by the writer thread: waits until a frame is due (enough bytes, the flush
  /// interval elapsed, or the queue closed) and takes everything pending. Returns nil once the
  /// queue is closed and empty.
  func takeBatch() -> [TraceEvent]? {
    condition.lock()
    defer { condition.unlock() }
    while true {
      if pending.isEmpty {
        if isClosed { return nil }
        condition.wait()
        continue
      }
      let deadline = (firstPendingTime ?? Date()).addingTimeInterval(flushInterval)
      if pendingBytes >= frameByteTarget || isClosed || Date() >= deadline {
        let batch = pending
        pending = []
        pendingBytes = 0
        firstPendingTime = nil
        condition.broadcast()
        return batch
      }
      _ = condition.wait(until: deadline)
    }
  }

  /// No more appends; the writer drains what is pending and stops.
  func close() {
    condition.lock()
    isClosed = true
    condition.broadcast()
    condition.unlock()
  }

  /// Called by the writer thread as it exits, also after a write error, so that neither
  /// `append` nor `waitForWriter` waits forever.
  func markWriterDone(error: SystemCallError?) {
    condition.lock()
    isWriterDone = true
    writerError = error
    pending = []
    pendingBytes = 0
    condition.broadcast()
    condition.unlock()
  }

  /// Waits for the writer thread to exit; returns the write error that stopped it, if any.
  @discardableResult
  func waitForWriter() -> SystemCallError? {
    condition.lock()
    defer { condition.unlock() }
    while !isWriterDone { condition.wait() }
    return writerError
  }

  /// About how many uncompressed bytes an event adds to the streams; cheap, since it runs on
  /// the tracer thread for every event.
  static func estimate(_ event: TraceEvent) -> Int {
    switch event {
    case .syscall(let e):
      var bytes = 64 + Registers.count * 2
      for chunk in e.inputs { bytes += 16 + chunk.bytes.count }
      for chunk in e.outputs { bytes += 16 + chunk.bytes.count }
      return bytes + (e.mappedFile == nil ? 0 : 128)
    case .exec(let e):
      return 1024 + e.initialStack.bytes.count + e.mappings.count * 128
        + e.argv.count * 32 + e.envp.count * 64
    case .signal(let e):
      return 64 + e.siginfo.count + Registers.count * 2
    case .rdtsc:
      return 40
    case .exit:
      return 24
    case .preemption:
      return 24 + Registers.count * 2
    case .memoryWrite(let e):
      return 24 + e.chunks.reduce(0) { $0 + 16 + $1.bytes.count }
    }
  }
}
