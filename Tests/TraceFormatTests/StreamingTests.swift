import Foundation
import Testing

@testable import TraceFormat

@Suite struct StreamingTests {
  /// Many events stream through the writer and back through the reader one frame at a time.
  @Test func threeHundredThousandEventsStreamInBoundedFrames() throws {
    try withTemporaryDirectory { root in
      let directory = root + "/trace"
      let count = 300_000
      let writer = try TraceWriter(directory: directory, header: sampleHeader())
      let start = Date()
      var appendTime: TimeInterval = 0
      for i in 0..<count {
        let event = smallSyscall(UInt64(i))
        let before = Date()
        writer.append(event)
        appendTime += Date().timeIntervalSince(before)
      }
      try writer.finish(summary: TraceSummary(exitStatus: .exited(code: 0)))
      let elapsed = Date().timeIntervalSince(start)

      let reader = try TraceReader(directory: directory)
      let summary = try #require(reader.summary)
      #expect(summary.eventCount == UInt64(count))
      let uncompressed = summary.uncompressedBytes.values.reduce(0, +)
      let compressed = summary.streamBytes.values.reduce(0, +)
      print(
        "wrote \(count) events in \(String(format: "%.3f", elapsed)) s "
          + "(\(Int(Double(count) / elapsed)) events/s, "
          + "\(String(format: "%.1f", Double(uncompressed) / elapsed / 1e6)) MB/s uncompressed, "
          + "\(uncompressed) → \(compressed) bytes); append alone "
          + "\(String(format: "%.2f", appendTime / Double(count) * 1e6)) µs/event")

      var read = 0
      var largestFrame = 0
      while let event = try reader.nextEvent() {
        if read % 50_000 == 0 { #expect(event == smallSyscall(UInt64(read))) }
        largestFrame = max(largestFrame, reader.currentFrameByteCount)
        read += 1
      }
      #expect(read == count)
      #expect(!reader.isTruncated)
      // One frame at a time: never much more than the 256 KiB frame target.
      #expect(largestFrame < 512 * 1024)
      #expect(largestFrame > 0)
    }
  }

  /// Read-heavy recordings: 64 KiB outputs of text-like bytes.
  @Test func dataHeavyEventsStream() throws {
    try withTemporaryDirectory { root in
      let directory = root + "/trace"
      // Words drawn by a xorshift generator: about as compressible as log or source text.
      let words = "the quick brown fox jumps over a lazy dog while 42 cats sleep\n"
        .split(separator: " ").map { Array($0.utf8) + [32] }
      var state: UInt64 = 0x9E37_79B9_7F4A_7C15
      let pages = (0..<8).map { _ in
        var page: [UInt8] = []
        while page.count < 64 << 10 {
          state ^= state << 13
          state ^= state >> 7
          state ^= state << 17
          page +=
            words[Int(state % UInt64(words.count))]
            + (state & 64 == 0 ? [] : Array(String(state % 997).utf8))
        }
        return Array(page.prefix(64 << 10))
      }
      let count = 512
      let writer = try TraceWriter(directory: directory, header: sampleHeader())
      let start = Date()
      for i in 0..<count {
        writer.append(
          .syscall(
            SyscallEvent(
              index: UInt64(i), tid: 1, entryRegisters: registers(seed: 0), result: 65536,
              outputs: [MemoryChunk(address: 0x10000, bytes: pages[i % pages.count])])))
      }
      try writer.finish(summary: TraceSummary(exitStatus: nil))
      let elapsed = Date().timeIntervalSince(start)
      let reader = try TraceReader(directory: directory)
      let summary = try #require(reader.summary)
      print(
        "wrote \(count) 64 KiB outputs at "
          + "\(String(format: "%.0f", Double(summary.uncompressedBytes["data"]!) / elapsed / 1e6)) MB/s, "
          + "data \(summary.uncompressedBytes["data"]!) → \(summary.streamBytes["data"]!) bytes")
      #expect(try readAll(reader).count == count)
    }
  }

  @Test func bigChunksGoToTheDataStreamAndCompress() throws {
    try withTemporaryDirectory { root in
      let directory = root + "/trace"
      let chunk = MemoryChunk(address: 0x10000, bytes: Array(repeating: 0, count: 4 << 20))
      let events = (0..<8).map { i in
        TraceEvent.syscall(
          SyscallEvent(
            index: UInt64(i), tid: 1, entryRegisters: registers(seed: 0), result: 4 << 20,
            outputs: [chunk]))
      }
      _ = try writeTrace(directory, events)
      let reader = try TraceReader(directory: directory)
      #expect(try readAll(reader) == events)
      let summary = try #require(reader.summary)
      #expect(summary.uncompressedBytes["data"] == 32 << 20)
      #expect(summary.streamBytes["data"]! < 1 << 20)
      // A chunk bigger than the frame target makes a frame of its own, not a broken one.
      #expect(try frames(ofStream: directory + "/data").count == 8)
    }
  }
}
