import Foundation
import Testing
import TraceFormat

@testable import Replayer

/// `EventCursor.position` counts its one-event lookahead: a position taken after a `peek`
/// is the one before the peeked event, and seeking there reads that event again.
@Suite struct EventCursorTests {
  /// Syscalls whose registers change from event to event (delta-encoded within a frame),
  /// with memory outputs, in frames of about 2 KiB.
  func writeManyFrameTrace(_ directory: String, count: Int) throws -> [TraceEvent] {
    let writer = try TraceWriter(
      directory: directory,
      header: TraceHeader(
        command: ["/bin/true"], cwd: "/", syscallTableHash: "0", rewindVersion: "test"),
      frameByteTarget: 2048, flushInterval: 0.1)
    let events = (0..<UInt64(count)).map { i -> TraceEvent in
      var registers = Registers(words: (0..<UInt64(Registers.count)).map { $0 &* 977 &+ i / 3 })
      registers.rax = i
      return .syscall(
        SyscallEvent(
          index: i, tid: Int32(10 + i % 2), entryRegisters: registers, result: Int64(i),
          outputs: i % 3 == 0 ? [MemoryChunk(address: 0x1000 + i, bytes: [UInt8(i & 0xff)])] : []))
    }
    for event in events { writer.append(event) }
    try writer.finish(summary: TraceSummary(exitStatus: .exited(code: 0)))
    return events
  }

  func withTrace(_ body: (String, [TraceEvent]) throws -> Void) throws {
    let directory = NSTemporaryDirectory() + "rewind-cursor-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: directory) }
    try body(directory, try writeManyFrameTrace(directory, count: 600))
  }

  @Test func aPositionTakenAfterAPeekIsTheOneBeforeThePeekedEvent() throws {
    try withTrace { directory, events in
      let cursor = EventCursor(reader: try TraceReader(directory: directory))
      #expect(cursor.position == .start)
      #expect(try cursor.peek() == events[0])
      // Saved at event 0, with event 0 already read into the lookahead.
      let atStart = cursor.position
      #expect(atStart == .start)
      #expect(cursor.consumed == 0)
      var positions: [TraceReader.Position] = []
      for i in 0..<events.count {
        // Every other event is peeked at first, as replay does to choose how to resume.
        if i % 2 == 0 { #expect(try cursor.peek() == events[i]) }
        positions.append(cursor.position)
        #expect(cursor.consumed == UInt64(i))
        #expect(try cursor.next() == events[i])
      }
      #expect(try cursor.next() == nil)
      #expect(cursor.consumed == UInt64(events.count))
      let end = cursor.position
      #expect(Set(positions.map(\.frame)).count > 10)
      #expect(positions.contains { $0.recordsIntoFrame > 0 })

      for index in [0, 1, 37, 300, 299, events.count - 1] {
        try cursor.seek(to: positions[index])
        #expect(cursor.consumed == UInt64(index))
        #expect(try cursor.peek() == events[index])
        #expect(cursor.position == positions[index])
        for i in index..<events.count {
          try #require(cursor.position == positions[i], "position before event \(i)")
          try #require(try cursor.next() == events[i], "event \(i) after seeking to \(index)")
        }
        #expect(try cursor.next() == nil)
        #expect(cursor.position == end)
      }
      try cursor.seek(to: atStart)
      #expect(try cursor.next() == events[0])
    }
  }

  /// A second cursor on another reader of the trace goes to a position the first took
  /// (what replaying from a checkpoint will do).
  @Test func anotherCursorSeeksToAPositionTheFirstTook() throws {
    try withTrace { directory, events in
      let first = EventCursor(reader: try TraceReader(directory: directory))
      for _ in 0..<250 { _ = try first.next() }
      _ = try first.peek()
      let saved = first.position
      let second = EventCursor(reader: try TraceReader(directory: directory))
      try second.seek(to: saved)
      #expect(second.consumed == 250)
      for i in 250..<events.count { try #require(try second.next() == events[i]) }
      #expect(try second.next() == nil)
      // A damaged position is an error naming the trace, not a crash.
      var bad = saved
      bad.recordsIntoFrame += 10_000
      #expect {
        try second.seek(to: bad)
      } throws: { error in
        guard case .trace(.noSuchPosition(let path, _, _)) = error as? ReplayError else {
          return false
        }
        return path == directory
      }
    }
  }
}
