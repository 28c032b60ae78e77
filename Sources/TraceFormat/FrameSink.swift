import CZstd

/// The writer thread's side of a `TraceWriter`: encodes batches of events into frames,
/// compresses them and appends them to the three streams, data and mmaps before events.
///
/// Only the writer thread uses it until that thread is done; `TraceWriter` reads the counts
/// after `EventQueue.waitForWriter`, whose lock orders the two.
final class FrameSink: @unchecked Sendable {
  /// zstd level 1: the recorder produces bytes faster than higher levels compress them on one
  /// core, and level 1 already shrinks register-heavy event records several times.
  static let compressionLevel: Int32 = 1

  let events: StreamAppender
  let data: StreamAppender
  let mmaps: StreamAppender
  private let frameByteTarget: Int
  private var encoder = EventEncoder()
  private let context: OpaquePointer
  private(set) var writtenEventCount: UInt64 = 0
  private(set) var frameCount = 0

  init(directory: String, frameByteTarget: Int) throws(SystemCallError) {
    events = try StreamAppender(directory: directory, name: "events")
    data = try StreamAppender(directory: directory, name: "data")
    mmaps = try StreamAppender(directory: directory, name: "mmaps")
    self.frameByteTarget = frameByteTarget
    guard let context = ZSTD_createCCtx() else { fatalError("ZSTD_createCCtx: out of memory") }
    self.context = context
  }

  deinit { ZSTD_freeCCtx(context) }

  var streams: [StreamAppender] { [events, data, mmaps] }

  /// Writes `batch` as one or more frames, cutting one whenever the target size is reached.
  func write(_ batch: [TraceEvent]) throws(SystemCallError) {
    for event in batch {
      encoder.encode(event)
      if encoder.uncompressedByteCount >= frameByteTarget { try cutFrame() }
    }
    if !encoder.isEmpty { try cutFrame() }
  }

  private func cutFrame() throws(SystemCallError) {
    let level = Self.compressionLevel
    let dataFrame = StreamFrame.encode(encoder.data.bytes, context: context, level: level)
    let mmapsFrame = StreamFrame.encode(encoder.mmaps.bytes, context: context, level: level)
    let eventsFrame = StreamFrame.encode(encoder.events.bytes, context: context, level: level)
    // Events last: a reader that finds frame N whole in `events` can count on frame N of the
    // other streams, even if the recorder was killed between these writes.
    try data.append(frame: dataFrame, uncompressedCount: encoder.data.count)
    try mmaps.append(frame: mmapsFrame, uncompressedCount: encoder.mmaps.count)
    try events.append(frame: eventsFrame, uncompressedCount: encoder.events.count)
    writtenEventCount += UInt64(encoder.eventCount)
    frameCount += 1
    encoder.reset()
  }
}
