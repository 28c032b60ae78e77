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

/// The dates of header.json and summary.json, written and read without ICU.
@Suite struct ISO8601Tests {
  @Test func writesUTCWithMilliseconds() {
    #expect(ISO8601.string(from: Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000Z")
    #expect(ISO8601.string(from: Date(timeIntervalSince1970: 1_795_512_600.25)) == "2026-11-24T09:30:00.250Z")
    #expect(ISO8601.string(from: Date(timeIntervalSince1970: -0.5)) == "1969-12-31T23:59:59.500Z")
  }

  @Test func readsWhatItWritesAndWhatFoundationWrote() throws {
    for seconds in [0, 1_795_512_600.25, 951_782_400.999, -0.5] {
      let date = Date(timeIntervalSince1970: seconds)
      #expect(ISO8601.date(from: ISO8601.string(from: date)) == date)
    }
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    let date = Date(timeIntervalSince1970: 1_700_000_000.123)
    let parsed = try #require(ISO8601.date(from: formatter.string(from: date)))
    #expect(abs(parsed.timeIntervalSince1970 - date.timeIntervalSince1970) < 0.0005)
    #expect(ISO8601.date(from: "2026-11-24T09:30:00Z") == Date(timeIntervalSince1970: 1_795_512_600))
    for bad in ["", "2026-11-24", "2026-11-24T09:30:00", "2026-13-24T09:30:00Z", "2026-11-24T09:30:00.Z", "2026-11-24 09:30:00Z"] {
      #expect(ISO8601.date(from: bad) == nil, "\(bad)")
    }
  }
}
