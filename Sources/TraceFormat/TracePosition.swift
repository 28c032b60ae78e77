extension TraceReader {
  /// A place in a trace between two events, from which a reader can read on (`seek(to:)`).
  ///
  /// The three streams' frames N belong together and a frame decodes on its own (register
  /// deltas restart at each frame), so a place is a frame, where it starts in each stream
  /// file, and how many of its event records come before the place. A place between two
  /// frames is always named by the later one, with no records before it, so two readers at
  /// the same place have equal positions.
  public struct Position: Hashable, Sendable, CustomStringConvertible {
    /// Events before this place in the whole trace, in recording order (0 at its start).
    public var eventsBefore: UInt64
    /// The frame that holds the next event, counted from 0.
    public var frame: Int
    /// Where that frame starts in the `events`, `data` and `mmaps` stream files.
    public var eventsOffset: UInt64
    public var dataOffset: UInt64
    public var mmapsOffset: UInt64
    /// Event records of that frame before this place.
    public var recordsIntoFrame: Int

    /// The start of every trace.
    public static let start = Position(
      eventsBefore: 0, frame: 0, eventsOffset: 0, dataOffset: 0, mmapsOffset: 0,
      recordsIntoFrame: 0)

    public init(
      eventsBefore: UInt64, frame: Int, eventsOffset: UInt64, dataOffset: UInt64,
      mmapsOffset: UInt64, recordsIntoFrame: Int
    ) {
      self.eventsBefore = eventsBefore
      self.frame = frame
      self.eventsOffset = eventsOffset
      self.dataOffset = dataOffset
      self.mmapsOffset = mmapsOffset
      self.recordsIntoFrame = recordsIntoFrame
    }

    public var description: String {
      "after \(eventsBefore) events (record \(recordsIntoFrame) of frame \(frame))"
    }
  }

  /// Where a frame starts in each stream file.
  struct FrameStart: Equatable {
    var index: Int
    var events: UInt64
    var data: UInt64
    var mmaps: UInt64

    func offset(of stream: String) -> UInt64 {
      switch stream {
      case "data": data
      case "mmaps": mmaps
      default: events
      }
    }
  }
}
