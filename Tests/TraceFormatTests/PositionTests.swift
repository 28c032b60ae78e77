import Foundation
import Testing

@testable import TraceFormat

/// `TraceReader.position` and `seek(to:)`: a reader moved back (or forward) to a position it
/// was at reads exactly the events that followed it then.
@Suite struct PositionTests {
  /// Small syscalls (registers delta-encoded within a frame), every kind of event (an exec
  /// with its mmaps records, a 1 MiB chunk in data), then more small syscalls, in frames of
  /// about 4 KiB.
  static func manyFrameEvents() -> [TraceEvent] {
    (0..<700).map { smallSyscall(UInt64($0)) } + everyKindOfEvent()
      + (700..<1400).map { smallSyscall(UInt64($0)) }
  }

  /// Reads the whole trace, noting the position before each event and the one at the end.
  func positionsAndEvents(_ reader: TraceReader) throws -> ([TraceReader.Position], [TraceEvent]) {
    var positions = [reader.position]
    var events: [TraceEvent] = []
    while let event = try reader.nextEvent() {
      events.append(event)
      positions.append(reader.position)
    }
    return (positions, events)
  }

  /// Reads to the end from where the reader is, checking each event and position against
  /// the first reading from `index` on.
  func expectRereads(
    _ reader: TraceReader, from index: Int, _ positions: [TraceReader.Position],
    _ events: [TraceEvent], count: Int? = nil
  ) throws {
    try #require(reader.position == positions[index])
    let end = min(events.count, index + (count ?? events.count))
    for i in index..<end {
      let event = try #require(try reader.nextEvent(), "event \(i) after seeking to \(index)")
      // #require: after one wrong event the rest are wrong too.
      try #require(event == events[i], "event \(i) after seeking to \(index)")
      try #require(reader.position == positions[i + 1], "position after event \(i)")
    }
    if end == events.count { #expect(try reader.nextEvent() == nil) }
  }

  @Test func positionsCountEventsAndNameFramesAndRecords() throws {
    try withTemporaryDirectory { root in
      let directory = root + "/trace"
      let written = Self.manyFrameEvents()
      _ = try writeTrace(directory, written, frameByteTarget: 4096)
      let streamFrames = try frames(ofStream: directory + "/events")
      #expect(streamFrames.count > 10)
      let reader = try TraceReader(directory: directory)
      #expect(reader.position == .start)
      let (positions, events) = try positionsAndEvents(reader)
      #expect(events == written)
      #expect(positions.map(\.eventsBefore) == (0...UInt64(written.count)).map { $0 })
      // Every frame start appears once, with no records before it, at the stream's offset.
      let starts = positions.filter { $0.recordsIntoFrame == 0 }
      #expect(starts.map(\.frame) == Array(0...streamFrames.count))
      #expect(starts.dropLast().map { Int($0.eventsOffset) } == streamFrames.map(\.offset))
      #expect(positions.last?.frame == streamFrames.count)
      for (before, after) in zip(positions, positions.dropFirst()) {
        #expect(
          after.recordsIntoFrame == before.recordsIntoFrame + 1
            || (after.recordsIntoFrame == 0 && after.frame == before.frame + 1))
      }
    }
  }

  @Test func seekingBackReadsTheSameEventsAgain() throws {
    try withTemporaryDirectory { root in
      let directory = root + "/trace"
      _ = try writeTrace(directory, Self.manyFrameEvents(), frameByteTarget: 4096)
      let reader = try TraceReader(directory: directory)
      let (positions, events) = try positionsAndEvents(reader)
      let frameStarts = positions.indices.filter {
        positions[$0].recordsIntoFrame == 0 && positions[$0].frame > 0
      }
      let middles = positions.indices.filter { positions[$0].recordsIntoFrame > 2 }
      let exec = try #require(events.firstIndex { if case .exec = $0 { true } else { false } })
      // Event 0, frame boundaries, the middle of frames, just before the exec (whose mmaps
      // records and big data chunk follow), and the end.
      let chosen = [0, frameStarts[0], frameStarts[3], middles[0], middles[middles.count / 2],
        exec, exec + 1, events.count - 1, events.count]
      // From the end of the trace, then from a later position, to an earlier one.
      for index in chosen.reversed() {
        try reader.seek(to: positions[index])
        try expectRereads(reader, from: index, positions, events)
      }
      for index in chosen {
        try reader.seek(to: positions[index])
        try expectRereads(reader, from: index, positions, events, count: 3)
      }
      #expect(!reader.isTruncated)
    }
  }

  /// Back and forth within one frame (which the reader holds decompressed) and across
  /// frames, in an order drawn from a fixed seed.
  @Test func seeksInAnyOrderReadTheSameEvents() throws {
    try withTemporaryDirectory { root in
      let directory = root + "/trace"
      _ = try writeTrace(directory, Self.manyFrameEvents(), frameByteTarget: 4096)
      let reader = try TraceReader(directory: directory)
      let (positions, events) = try positionsAndEvents(reader)
      var state: UInt64 = 0x2545_F491_4F6C_DD1D
      func draw(_ bound: Int) -> Int {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return Int(state % UInt64(bound))
      }
      var index = 0
      for _ in 0..<300 {
        // Mostly near where the reader is (the same frame), sometimes anywhere.
        index =
          draw(4) == 0
          ? draw(positions.count) : max(0, min(positions.count - 1, index + draw(40) - 20))
        try reader.seek(to: positions[index])
        try expectRereads(reader, from: index, positions, events, count: draw(12))
        index = min(positions.count - 1, index + 5)
      }
    }
  }

  /// A position is a value: a new reader of the same trace goes straight to it.
  @Test func anotherReaderSeeksToAPositionTakenByTheFirst() throws {
    try withTemporaryDirectory { root in
      let directory = root + "/trace"
      _ = try writeTrace(directory, Self.manyFrameEvents(), frameByteTarget: 4096)
      let (positions, events) = try positionsAndEvents(TraceReader(directory: directory))
      for index in [0, 1, 777, positions.count / 2, events.count] {
        let reader = try TraceReader(directory: directory)
        try reader.seek(to: positions[index])
        try expectRereads(reader, from: index, positions, events, count: 50)
      }
    }
  }

  @Test func aPositionPastAFramesRecordsIsRefusedAndTheReaderRecovers() throws {
    try withTemporaryDirectory { root in
      let directory = root + "/trace"
      _ = try writeTrace(directory, Self.manyFrameEvents(), frameByteTarget: 4096)
      let reader = try TraceReader(directory: directory)
      let (positions, events) = try positionsAndEvents(reader)
      var bad = positions[0]
      bad.recordsIntoFrame = 100_000
      #expect {
        try reader.seek(to: bad)
      } throws: { error in
        guard case .noSuchPosition(let path, let position, let reason) = error as? TraceError
        else { return false }
        return path == directory && position.contains("record 100000 of frame 0")
          && reason.contains("holds") && "\(error)".contains("another trace")
      }
      // Reading on fails the same way until a good seek.
      #expect(throws: TraceError.self) { try reader.nextEvent() }
      var pastTheEnd = positions[events.count]
      pastTheEnd.recordsIntoFrame = 1
      #expect(throws: TraceError.self) { try reader.seek(to: pastTheEnd) }
      try reader.seek(to: positions[5])
      try expectRereads(reader, from: 5, positions, events, count: 10)
    }
  }

  /// A trace cut in its last frame: positions up to the cut work, and the end is still
  /// found (and said to be truncated) after seeking back.
  @Test func aTruncatedTraceSeeksUpToItsLastWholeFrame() throws {
    try withTemporaryDirectory { root in
      let directory = root + "/trace"
      _ = try writeTrace(directory, Self.manyFrameEvents(), frameByteTarget: 4096)
      let path = directory + "/events"
      let last = try #require(try frames(ofStream: path).last)
      #expect(truncate(path, off_t(last.offset + last.length / 2)) == 0)
      let reader = try TraceReader(directory: directory)
      let (positions, events) = try positionsAndEvents(reader)
      #expect(reader.isTruncated)
      #expect(events == Array(Self.manyFrameEvents().prefix(events.count)))
      for index in [events.count, events.count - 1, 0] {
        try reader.seek(to: positions[index])
        try expectRereads(reader, from: index, positions, events)
        #expect(reader.isTruncated)
      }
    }
  }
}
