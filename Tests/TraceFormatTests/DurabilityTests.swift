import Foundation
import Testing

@testable import TraceFormat

/// What a reader makes of a trace whose recorder was killed, or whose files were damaged.
@Suite struct DurabilityTests {
  let events = (0..<3000).map { smallSyscall(UInt64($0)) }

  @Test func aStreamCutInItsLastFrameReadsUpToThatFrame() throws {
    try withTemporaryDirectory { root in
      let directory = root + "/trace"
      _ = try writeTrace(directory, events, frameByteTarget: 8192)
      let frameList = try frames(ofStream: directory + "/events")
      try #require(frameList.count >= 3)
      let last = frameList.last!
      // A copy cut exactly before the last frame holds what the earlier frames hold.
      let copy = root + "/copy"
      try FileManager.default.copyItem(atPath: directory, toPath: copy)
      #expect(truncate(copy + "/events", off_t(last.offset)) == 0)
      let earlierFrames = try TraceReader(directory: copy)
      let expected = try readAll(earlierFrames)
      #expect(!earlierFrames.isTruncated)

      #expect(truncate(directory + "/events", off_t(last.offset + last.length / 2)) == 0)
      let reader = try TraceReader(directory: directory)
      let read = try readAll(reader)
      #expect(reader.isTruncated)
      #expect(read == expected)
      #expect(!read.isEmpty && read.count < events.count)
      #expect(read == Array(events.prefix(read.count)))
      #expect(try reader.nextEvent() == nil)
    }
  }

  @Test func aStreamCutInsideAFrameHeaderIsTruncationToo() throws {
    try withTemporaryDirectory { root in
      let directory = root + "/trace"
      _ = try writeTrace(directory, events, frameByteTarget: 8192)
      let last = try frames(ofStream: directory + "/events").last!
      #expect(truncate(directory + "/events", off_t(last.offset + 5)) == 0)
      let reader = try TraceReader(directory: directory)
      #expect(try readAll(reader).count < events.count)
      #expect(reader.isTruncated)
    }
  }

  /// Wherever a stream ends (a recorder can die at any byte), the reader returns a prefix of
  /// the events and never throws: a cut is not corruption.
  @Test(arguments: ["events", "data", "mmaps"])
  func aStreamCutAtAnyByteReadsAsAPrefix(stream: String) throws {
    try withTemporaryDirectory { root in
      let directory = root + "/trace"
      let recorded =
        everyKindOfEvent().filter { event in
          if case .syscall(let e) = event { return e.outputs.allSatisfy { $0.bytes.count < 4096 } }
          return true
        } + events.prefix(400)
      _ = try writeTrace(directory, recorded, frameByteTarget: 2048)
      let path = directory + "/" + stream
      let original = try Data(contentsOf: URL(fileURLWithPath: path))
      let boundaries = Set(try frames(ofStream: path).map(\.offset) + [original.count])
      for cut in stride(from: 0, to: original.count, by: max(1, original.count / 300)) {
        try original.prefix(cut).write(to: URL(fileURLWithPath: path))
        let reader = try TraceReader(directory: directory)
        let read = try readAll(reader)
        #expect(read == Array(recorded.prefix(read.count)), "cut at \(cut)")
        // A clean end of `events` is the end of the recording; a clean end of data or mmaps
        // while events has more frames is not.
        let endsCleanly = stream == "events" ? boundaries.contains(cut) : false
        #expect(reader.isTruncated == !endsCleanly, "cut at \(cut)")
      }
    }
  }

  @Test func aWriterThatNeverFinishesLeavesItsEventsAfterTheFlushInterval() throws {
    try withTemporaryDirectory { root in
      let directory = root + "/trace"
      let writer = try writeTrace(directory, Array(events.prefix(10)), finish: false)
      Thread.sleep(forTimeInterval: 0.4)
      let reader = try TraceReader(directory: directory)
      #expect(reader.summary == nil)
      #expect(try readAll(reader) == Array(events.prefix(10)))
      #expect(!reader.isTruncated)
      withExtendedLifetime(writer) {}
    }
  }

  @Test func aFlippedByteInAMiddleFrameIsCorruptionNamingTheStream() throws {
    try withTemporaryDirectory { root in
      let directory = root + "/trace"
      _ = try writeTrace(directory, events, frameByteTarget: 8192)
      let frameList = try frames(ofStream: directory + "/events")
      let middle = frameList.count / 2
      try flipByte(in: directory + "/events", at: frameList[middle].offset + 40)

      let reader = try TraceReader(directory: directory)
      var count = 0
      let error = #expect(throws: TraceError.self) {
        while try reader.nextEvent() != nil { count += 1 }
      }
      guard case .corrupted(_, let stream, let frame, let offset, let reason) = error else {
        Issue.record("expected corrupted, got \(String(describing: error))")
        return
      }
      #expect(stream == "events")
      #expect(frame == middle)
      #expect(offset == UInt64(frameList[middle].offset))
      #expect(reason.contains("checksum"))
      #expect(count > 0 && count < events.count)
      #expect(error!.description.contains("stream 'events', frame \(middle)"))
      // The error sticks: a caller that retries gets it again rather than skipped events.
      #expect(throws: error!) { try reader.nextEvent() }
    }
  }

  @Test func aCorruptedDataFrameNamesTheDataStream() throws {
    try withTemporaryDirectory { root in
      let directory = root + "/trace"
      _ = try writeTrace(directory, events, frameByteTarget: 8192)
      let frameList = try frames(ofStream: directory + "/data")
      try flipByte(in: directory + "/data", at: frameList[1].offset + 14)
      let reader = try TraceReader(directory: directory)
      let error = #expect(throws: TraceError.self) { _ = try readAll(reader) }
      guard case .corrupted(_, "data", 1, _, _) = error else {
        Issue.record("expected data frame 1 to be corrupted, got \(String(describing: error))")
        return
      }
    }
  }

  /// The uncompressed length in a frame header is outside the checksum. A damaged one is
  /// told by the size the zstd frame declares, before a buffer of that length is allocated.
  @Test func aFrameHeaderClaimingAnotherLengthIsCorruption() throws {
    try withTemporaryDirectory { root in
      let directory = root + "/trace"
      // Random bytes compress badly, so the claimed 2 GiB stays within zstd's best ratio.
      var generator = SystemRandomNumberGenerator()
      let noise = (0..<(1 << 17)).map { _ in UInt8.random(in: 0...255, using: &generator) }
      let chunk = MemoryChunk(address: 0x1000, bytes: noise)
      _ = try writeTrace(
        directory, [.memoryWrite(MemoryWriteEvent(index: 0, tid: 1, chunks: [chunk]))])
      let handle = try #require(FileHandle(forUpdatingAtPath: directory + "/data"))
      try handle.seek(toOffset: 4)
      handle.write(Data([0, 0, 0, 0x80]))  // little-endian 2 GiB
      try handle.close()
      let reader = try TraceReader(directory: directory)
      let error = #expect(throws: TraceError.self) { _ = try readAll(reader) }
      guard case .corrupted(_, "data", 0, _, let reason) = error else {
        Issue.record("expected data frame 0 to be corrupted, got \(String(describing: error))")
        return
      }
      #expect(
        reason.contains("holds \(1 << 17) bytes but the header says 2147483648"), "\(reason)")
    }
  }

  @Test func anUnknownEventKindIsRejected() throws {
    let valid = [UInt8](repeating: 0, count: 4)
    var decoder = EventDecoder(events: [42, 4, 0, 0, 0] + valid, data: [], mmaps: [])
    #expect {
      _ = try decoder.next()
    } throws: { error in
      let failure = error as! EventDecoder.Failure
      return failure.stream == "events" && failure.reason.contains("unknown event kind 42")
    }
  }

  @Test func aLengthThatDisagreesWithItsRecordIsRejected() throws {
    var encoder = EventEncoder()
    encoder.encode(smallSyscall(1))
    var bytes = encoder.events.bytes
    bytes[1] &+= 1
    var decoder = EventDecoder(events: bytes, data: encoder.data.bytes, mmaps: [])
    #expect(throws: EventDecoder.Failure.self) { _ = try decoder.next() }
  }

  /// A version 1 signal or preemption record ends at its registers: it reads back with no
  /// code point memory (version 2 appended `u32 n | words`).
  @Test func versionOneCodePointsReadWithoutMemory() throws {
    let events: [TraceEvent] = [
      .signal(SignalEvent(index: 0, tid: 7, signal: 14, code: 0x80, siginfo: Array(repeating: 1, count: 128), registers: Registers())),
      .preemption(PreemptionEvent(index: 1, tid: 7, registers: Registers())),
    ]
    var versionOne: [UInt8] = []
    for event in events {
      var encoder = EventEncoder()
      encoder.encode(event)
      // Drop the empty word list (u32 0) and shorten the length to match.
      var record = Array(encoder.events.bytes.dropLast(4))
      let length = UInt32(record.count - 5)
      record.replaceSubrange(1..<5, with: withUnsafeBytes(of: length.littleEndian, Array.init))
      versionOne += record
    }
    var decoder = EventDecoder(events: versionOne, data: [], mmaps: [])
    #expect(try decoder.next() == events[0])
    #expect(try decoder.next() == events[1])
    #expect(try decoder.next() == nil)
  }

  private func flipByte(in path: String, at offset: Int) throws {
    let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
    defer { try? handle.close() }
    try handle.seek(toOffset: UInt64(offset))
    let byte = try handle.read(upToCount: 1)!
    try handle.seek(toOffset: UInt64(offset))
    try handle.write(contentsOf: Data([byte[0] ^ 0x5a]))
  }
}
