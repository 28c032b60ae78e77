import Foundation
import Testing

@testable import TraceFormat

@Suite struct RoundTripTests {
  @Test func everyEventKindSurvivesWriteAndRead() throws {
    try withTemporaryDirectory { root in
      let directory = root + "/trace"
      let events = everyKindOfEvent()
      _ = try writeTrace(directory, events)
      let reader = try TraceReader(directory: directory)
      #expect(try readAll(reader) == events)
      #expect(!reader.isTruncated)
      #expect(reader.header == sampleHeader().with(startTime: reader.header.startTime))
      #expect(reader.summary?.exitStatus == .exited(code: 0))
      #expect(reader.summary?.eventCount == UInt64(events.count))
      #expect((reader.summary?.uncompressedBytes["data"] ?? 0) > 1 << 20)
    }
  }

  @Test func eventsSpreadOverManySmallFramesReadBackInOrder() throws {
    try withTemporaryDirectory { root in
      let directory = root + "/trace"
      let events = (0..<2000).map { smallSyscall(UInt64($0)) } + everyKindOfEvent()
      _ = try writeTrace(directory, events, frameByteTarget: 4096)
      #expect(try frames(ofStream: directory + "/events").count > 10)
      #expect(try readAll(TraceReader(directory: directory)) == events)
    }
  }

  @Test func headerAndSummaryRoundTripThroughJSON() throws {
    try withTemporaryDirectory { root in
      let directory = root + "/trace"
      let header = sampleHeader()
      let writer = try TraceWriter(directory: directory, header: header)
      writer.append(smallSyscall(0))
      let end = Date(timeIntervalSince1970: 1_700_000_000.123)
      try writer.finish(
        summary: TraceSummary(exitStatus: .killed(signal: 6, coreDumped: false), endTime: end))
      let reader = try TraceReader(directory: directory)
      #expect(reader.header == header)
      #expect(reader.header.formatVersion == TraceHeader.currentFormatVersion)
      #expect(!reader.header.cpuModel.isEmpty && !reader.header.kernelRelease.isEmpty)
      #expect(reader.summary?.endTime == end)
      #expect(reader.summary?.exitStatus == .killed(signal: 6, coreDumped: false))
      #expect(Set(reader.summary?.streamBytes.keys ?? [:].keys) == ["events", "data", "mmaps"])
    }
  }

  @Test func anEmptyTraceHasNoEvents() throws {
    try withTemporaryDirectory { root in
      _ = try writeTrace(root + "/trace", [])
      let reader = try TraceReader(directory: root + "/trace")
      #expect(try reader.nextEvent() == nil)
      #expect(!reader.isTruncated)
      #expect(reader.summary?.eventCount == 0)
    }
  }

  @Test func writerCreatesMissingParents() throws {
    try withTemporaryDirectory { root in
      _ = try writeTrace(root + "/a/b/trace", [smallSyscall(0)])
      #expect(try readAll(TraceReader(directory: root + "/a/b/trace")) == [smallSyscall(0)])
    }
  }

  @Test func writerRefusesANonEmptyDirectory() throws {
    try withTemporaryDirectory { root in
      _ = FileManager.default.createFile(atPath: root + "/something", contents: Data())
      #expect(throws: TraceError.self) { try TraceWriter(directory: root, header: sampleHeader()) }
    }
  }
}

extension TraceHeader {
  func with(startTime: Date) -> TraceHeader {
    var copy = self
    copy.startTime = startTime
    return copy
  }
}
