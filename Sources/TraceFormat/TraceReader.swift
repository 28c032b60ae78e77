import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Reads a trace directory written by `TraceWriter`, streaming its events frame by frame.
///
/// Only one frame of each stream is in memory at a time, so a trace of millions of events
/// reads in constant memory. A trace whose recorder was killed reads up to its last whole
/// frame; then `nextEvent` returns nil and `isTruncated` says whether a frame was cut short.
/// A reader can go back (or on) to any `position` it was at, with `seek(to:)`.
public final class TraceReader {
  public let directory: String
  public let header: TraceHeader
  /// summary.json, or nil when the recording did not finish cleanly (or the file is damaged:
  /// the events are still worth replaying without it).
  public let summary: TraceSummary?
  /// The streams ended in the middle of a frame: the recorder was killed while writing.
  public private(set) var isTruncated = false

  private let events: StreamCursor
  private let data: StreamCursor
  private let mmaps: StreamCursor
  private var decoder: EventDecoder?
  /// The decoder as its frame was loaded, to go back within the frame (`seek`) without
  /// decompressing it again.
  private var frameStart: EventDecoder?
  /// The frame the decoder holds and where it starts in each stream (for error messages and
  /// positions), and the next frame: where the stream cursors are after reading it.
  private var frame = FrameStart(index: 0, events: 0, data: 0, mmaps: 0)
  private var nextFrame = FrameStart(index: 0, events: 0, data: 0, mmaps: 0)
  /// Event records read from the decoder's frame.
  private var recordsRead = 0
  /// Events before the next one, counted from the start of the trace.
  private var eventsRead: UInt64 = 0
  private var isAtEnd = false
  private var failure: TraceError?
  /// The uncompressed bytes of the frame being decoded, all streams together; what reading
  /// holds in memory besides the events handed out.
  private(set) var currentFrameByteCount = 0

  /// Opens a trace and checks that it is one this rewind can read: the directory exists,
  /// header.json parses, its format version is ours, and the streams are there.
  public init(directory: String) throws(TraceError) {
    self.directory = directory
    var info = stat()
    if stat(directory, &info) != 0 {
      throw errno == ENOENT
        ? .notATrace(path: directory, reason: "there is no such file or directory")
        : .io(path: directory, errno: errno)
    }
    if info.st_mode & S_IFMT != S_IFDIR {
      throw .notATrace(path: directory, reason: "it is a file, not a trace directory")
    }
    header = try Self.readHeader(directory)
    summary = Self.readSummary(directory)
    for name in ["events", "data", "mmaps"] where access(directory + "/" + name, F_OK) != 0 {
      throw .notATrace(
        path: directory,
        reason: "it has header.json but no '\(name)' stream (the recorder stopped before "
          + "creating it)")
    }
    do {
      events = try StreamCursor(tracePath: directory, name: "events")
      data = try StreamCursor(tracePath: directory, name: "data")
      mmaps = try StreamCursor(tracePath: directory, name: "mmaps")
    } catch {
      throw error.traceError
    }
  }

  /// The next event in recording order, or nil at the end of the trace. Throws `corrupted`
  /// (naming the stream, frame and byte offset) when a frame or record is damaged; the events
  /// returned before it are good.
  public func nextEvent() throws(TraceError) -> TraceEvent? {
    if let failure { throw failure }
    do throws(TraceError) {
      while true {
        if decoder != nil, let event = try decodeNext() {
          eventsRead += 1
          return event
        }
        decoder = nil
        if isAtEnd { return nil }
        if try !loadNextFrame() { return nil }
      }
    } catch {
      failure = error
      throw error
    }
  }

  /// Where the reader is: just before the event `nextEvent` returns next. Two readings of
  /// the same trace give equal positions at the same place.
  public var position: Position {
    if let decoder, !decoder.hasReadAllRecords {
      return Position(
        eventsBefore: eventsRead, frame: frame.index, eventsOffset: frame.events,
        dataOffset: frame.data, mmapsOffset: frame.mmaps, recordsIntoFrame: recordsRead)
    }
    // Between two frames, named by the next one whether or not it has been loaded.
    return Position(
      eventsBefore: eventsRead, frame: nextFrame.index, eventsOffset: nextFrame.events,
      dataOffset: nextFrame.data, mmapsOffset: nextFrame.mmaps, recordsIntoFrame: 0)
  }

  /// Moves to `target`, a `position` this reader (or another reader of the same trace) was
  /// at, so that `nextEvent` returns the events that followed it then. Frames are
  /// independent, so this loads the target's frame and decodes the records before it (only
  /// those after the current record when the target is further into the frame held).
  /// Throws `corrupted` when the frame cannot be read, `noSuchPosition` when it holds fewer
  /// records than the target names; `nextEvent` throws the same until the next good seek.
  public func seek(to target: Position) throws(TraceError) {
    failure = nil
    isAtEnd = false
    let targetFrame = FrameStart(
      index: target.frame, events: target.eventsOffset, data: target.dataOffset,
      mmaps: target.mmapsOffset)
    do throws(TraceError) {
      if let frameStart, targetFrame == frame {
        if decoder == nil || target.recordsIntoFrame < recordsRead {
          decoder = frameStart
          recordsRead = 0
        }
        moveStreams(to: nextFrame)
      } else {
        decoder = nil
        frameStart = nil
        recordsRead = 0
        moveStreams(to: targetFrame)
        nextFrame = targetFrame
        if target.recordsIntoFrame > 0, try !loadNextFrame() {
          throw noSuchPosition(target, reason: "there is no whole frame there")
        }
      }
      while recordsRead < target.recordsIntoFrame {
        if try decodeNext() == nil {
          throw noSuchPosition(target, reason: "that frame holds \(recordsRead) event records")
        }
      }
      eventsRead = target.eventsBefore
    } catch {
      failure = error
      throw error
    }
  }

  private func moveStreams(to start: FrameStart) {
    events.move(toFrame: start.index, at: start.events)
    data.move(toFrame: start.index, at: start.data)
    mmaps.move(toFrame: start.index, at: start.mmaps)
  }

  private func noSuchPosition(_ target: Position, reason: String) -> TraceError {
    .noSuchPosition(
      path: directory,
      position: "event record \(target.recordsIntoFrame) of frame \(target.frame) (at byte "
        + "\(target.eventsOffset) of events)",
      reason: reason)
  }

  /// Where the saved copy of `file` is; it may be a hard link shared with other traces.
  public func savedFilePath(for file: MappedFile) -> String {
    directory + "/files/" + file.contentHash
  }

  /// `savedFilePath(for:)`, checked to exist; throws `missingFile` naming the original path.
  public func existingSavedFilePath(for file: MappedFile) throws(TraceError) -> String {
    let path = savedFilePath(for: file)
    if access(path, R_OK) != 0 {
      throw .missingFile(path: directory, hash: file.contentHash, originalPath: file.originalPath)
    }
    return path
  }

  private func decodeNext() throws(TraceError) -> TraceEvent? {
    do {
      let event = try decoder!.next()
      if event != nil { recordsRead += 1 }
      return event
    } catch {
      throw .corrupted(
        path: directory, stream: error.stream, frame: frame.index,
        offset: frame.offset(of: error.stream), reason: error.reason)
    }
  }

  /// Reads frame N of each stream into a new decoder; false at the end of the trace.
  private func loadNextFrame() throws(TraceError) -> Bool {
    // The frame done with goes first: reading holds one frame at a time.
    frameStart = nil
    let start = FrameStart(
      index: events.frameIndex, events: events.offset, data: data.offset, mmaps: mmaps.offset)
    var bytes: [String: [UInt8]] = [:]
    // events first: its frame N decides whether there is a frame N at all.
    for cursor in [events, data, mmaps] {
      switch try cursor.next() {
      case .frame(let frame):
        bytes[cursor.name] = frame
      case .end where cursor === events:
        isAtEnd = true
        return false
      case .end, .truncated:
        // A short data or mmaps frame under a whole events frame means the files were cut
        // after the fact (a copy, a full disk); either way the recording ends here.
        isTruncated = true
        isAtEnd = true
        return false
      }
    }
    frame = start
    nextFrame = FrameStart(
      index: events.frameIndex, events: events.offset, data: data.offset, mmaps: mmaps.offset)
    currentFrameByteCount = bytes.values.reduce(0) { $0 + $1.count }
    decoder = EventDecoder(events: bytes["events"]!, data: bytes["data"]!, mmaps: bytes["mmaps"]!)
    frameStart = decoder
    recordsRead = 0
    return true
  }

  private static func readHeader(_ directory: String) throws(TraceError) -> TraceHeader {
    let path = directory + "/header.json"
    guard let json = FileManager.default.contents(atPath: path) else {
      throw access(path, F_OK) != 0
        ? .notATrace(path: directory, reason: "it has no header.json")
        : .io(path: path, errno: errno)
    }
    struct VersionOnly: Decodable { var formatVersion: Int }
    // The version first: a future header may change any other field.
    guard let version = try? JSONDecoder().decode(VersionOnly.self, from: json).formatVersion
    else {
      throw .notATrace(
        path: directory, reason: "its header.json has no formatVersion (is it damaged?)")
    }
    if !(TraceHeader.oldestReadableFormatVersion...TraceHeader.currentFormatVersion).contains(version) {
      throw .unsupportedVersion(
        path: directory, found: version, supported: TraceHeader.currentFormatVersion)
    }
    do {
      return try TraceJSON.decoder().decode(TraceHeader.self, from: json)
    } catch {
      throw .notATrace(path: directory, reason: "its header.json cannot be decoded (\(error))")
    }
  }

  private static func readSummary(_ directory: String) -> TraceSummary? {
    guard let json = FileManager.default.contents(atPath: directory + "/summary.json") else {
      return nil
    }
    return try? TraceJSON.decoder().decode(TraceSummary.self, from: json)
  }
}
