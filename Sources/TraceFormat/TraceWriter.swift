import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Writes a trace directory: header.json, the three streams, files/ and summary.json.
///
/// ## Streams (format version 1)
///
/// `events`, `data` and `mmaps` are each a sequence of frames, all integers little-endian:
/// ```
/// u32 compressedLength | u32 uncompressedLength | u32 checksum | compressedLength zstd bytes
/// ```
/// `checksum` is XXH32 (seed 0) of the zstd bytes. A frame with no payload has both lengths 0
/// and no zstd bytes. Frames are independent (each is one zstd frame, and register deltas
/// restart at each frame), so a reader can stream them one at a time and a crash costs at
/// most the frame being written.
///
/// Frame N of `events`, `data` and `mmaps` belong together: the event records of `events`
/// frame N name their memory chunks, in order, in `data` frame N, and their mapped files and
/// initial mappings in `mmaps` frame N (`EventEncoder` documents the records). The three are
/// written data, mmaps, events, so a reader that finds frame N whole in `events` has it in the
/// others. A frame cut short at the end of a file means the recording ended there (a
/// recorder killed by SIGKILL); a bad checksum, an impossible length or a zstd error anywhere
/// else is corruption. (A damaged length in the last frame that points past the end of the
/// file cannot be told from a cut, and reads as one.) Changing any of this means bumping
/// `TraceHeader.currentFormatVersion`.
///
/// ## Threads
///
/// `append` runs on the tracer thread and only queues the event. A background thread cuts a
/// frame when about 256 KiB of uncompressed bytes are pending, 100 ms after the first
/// unflushed event (so a killed recorder loses at most ~100 ms), and at `finish`; it encodes,
/// compresses (zstd level 1) and writes. `append` waits only when 64 MiB are pending, when
/// the disk or the compressor falls that far behind.
public final class TraceWriter: @unchecked Sendable {
  public let directory: String
  public let header: TraceHeader

  private let queue: EventQueue
  private let sink: FrameSink
  private let files: FileStore
  private var isFinished = false

  /// Creates `directory` and its parents (it must not exist, or be empty), writes
  /// header.json and starts the writer thread.
  public convenience init(directory: String, header: TraceHeader) throws {
    try self.init(
      directory: directory, header: header, frameByteTarget: 256 * 1024, flushInterval: 0.1)
  }

  /// As above, with the frame size and flush interval given (tests use small frames).
  public init(
    directory: String, header: TraceHeader, frameByteTarget: Int, flushInterval: TimeInterval
  ) throws {
    self.directory = directory
    self.header = header
    try Self.createEmptyDirectory(directory)
    try TraceJSON.write(header, to: directory + "/header.json")
    files = try FileStore(directory: directory + "/files")
    sink = try FrameSink(directory: directory, frameByteTarget: frameByteTarget)
    queue = EventQueue(
      frameByteTarget: frameByteTarget, flushInterval: flushInterval,
      maximumPendingBytes: 64 << 20)
    let thread = Thread { [queue, sink] in Self.runWriter(queue: queue, sink: sink) }
    thread.name = "rewind trace writer"
    thread.start()
  }

  deinit {
    // Dropped without finish: write what is queued, like a recorder that stopped abruptly
    // (no summary.json), rather than leak the thread.
    if !isFinished {
      queue.close()
      queue.waitForWriter()
    }
  }

  /// Queues an event; never waits for compression or the disk unless 64 MiB are pending.
  /// Call it from one thread at a time (the tracer thread of this stream).
  public func append(_ event: TraceEvent) {
    queue.append(event)
  }

  /// How many events were appended so far.
  public var eventCount: UInt64 { queue.count }

  /// Saves the file at `path` into files/<hash> and returns how events refer to it. See
  /// `FileStore` for when it is hard-linked and when copied.
  public func saveFile(atPath path: String) throws -> MappedFile {
    do { return try files.save(atPath: path) } catch { throw error.traceError }
  }

  /// Saves the file open as `fd` (for example /proc/PID/map_files/..., which stays valid when
  /// the path was replaced or deleted), recorded under `originalPath`. Does not close `fd`.
  public func saveFile(openFileDescriptor fd: Int32, originalPath: String) throws -> MappedFile {
    do {
      return try files.save(openFileDescriptor: fd, originalPath: originalPath)
    } catch {
      throw error.traceError
    }
  }

  /// Writes every queued event, stops the writer thread, syncs the streams and writes
  /// summary.json. `summary` gives the exit status and end time; the event count and the
  /// byte counts are filled in from what was written. Throws the first write error, if any
  /// (then no summary is written and the trace reads as cut short).
  public func finish(summary: TraceSummary) throws {
    precondition(!isFinished, "TraceWriter.finish called twice")
    isFinished = true
    queue.close()
    if let error = queue.waitForWriter() { throw error.traceError }
    do {
      for stream in sink.streams { try stream.sync() }
    } catch {
      throw error.traceError
    }
    var summary = summary
    summary.eventCount = sink.writtenEventCount
    summary.streamBytes = Dictionary(
      uniqueKeysWithValues: sink.streams.map { ($0.name, $0.compressedBytes) })
    summary.uncompressedBytes = Dictionary(
      uniqueKeysWithValues: sink.streams.map { ($0.name, $0.uncompressedBytes) })
    try TraceJSON.write(summary, to: directory + "/summary.json")
  }

  private static func runWriter(queue: EventQueue, sink: FrameSink) {
    while let batch = queue.takeBatch() {
      do {
        try sink.write(batch)
      } catch {
        queue.markWriterDone(error: error)
        return
      }
    }
    queue.markWriterDone(error: nil)
  }

  private static func createEmptyDirectory(_ path: String) throws(TraceError) {
    if mkdir(path, 0o755) == 0 { return }
    var code = errno
    if code == ENOENT {
      let parent = (path as NSString).deletingLastPathComponent
      try? FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
      if mkdir(path, 0o755) == 0 { return }
      code = errno
    }
    if code == EEXIST, let entries = try? FileManager.default.contentsOfDirectory(atPath: path),
      entries.isEmpty
    {
      return
    }
    if code == EEXIST {
      throw .notATrace(
        path: path,
        reason: "it already exists and is not empty, so a new trace cannot be written there "
          + "(choose another directory, or let rewind pick one)")
    }
    throw .io(path: path, errno: code)
  }
}
