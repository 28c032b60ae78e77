import CZstd
import Foundation
import Testing

@testable import TraceFormat

/// Inputs on which scripts/fuzz.sh's trace target (fuzz/TraceFuzzer.swift, whose comment gives
/// their layout) crashed or ran out of memory, kept in Tests/FuzzFindings/trace: each must now
/// be rejected as damaged, without a trap and without allocating what it claims.
@Suite struct FuzzFindingsTests {
  static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("../FuzzFindings/trace").standardized.path

  static let findings: [String] =
    ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()

  @Test func thereAreFindings() {
    #expect(!Self.findings.isEmpty, "no files in \(Self.directory)")
  }

  @Test(arguments: findings) func isRejected(name: String) throws {
    let input = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.directory + "/" + name)))
    let rest = Array(input.dropFirst())
    switch input.first {
    case 0:
      #expect(throws: EventDecoder.Failure.self) { try decodeFrames(rest) }
    case 1:
      let reason = try #require(frameDefect(rest), "the frame decoded")
      // zstd's own error comes after the output buffer was allocated at the header's length.
      #expect(!reason.hasPrefix("zstd:"), "only zstd rejected it: \(reason)")
    default:
      Issue.record("\(name) starts with mode \(String(describing: input.first)), not 0 or 1")
    }
  }

  /// Mode 0: `u32 eventsLength | u32 dataLength | events | data | mmaps`, lengths cut.
  func decodeFrames(_ input: [UInt8]) throws(EventDecoder.Failure) {
    var reader = ByteReader(input)
    let eventsLength = Int((try? reader.readUInt32()) ?? 0)
    let dataLength = Int((try? reader.readUInt32()) ?? 0)
    let body = Array(input.dropFirst(reader.position))
    let eventsEnd = min(eventsLength, body.count)
    let dataEnd = min(eventsEnd + dataLength, body.count)
    var decoder = EventDecoder(
      events: Array(body[..<eventsEnd]), data: Array(body[eventsEnd..<dataEnd]),
      mmaps: Array(body[dataEnd...]))
    while try decoder.next() != nil {}
  }

  /// Mode 1: `u32 uncompressedLength | zstd bytes`, under a checksum that matches.
  func frameDefect(_ input: [UInt8]) -> String? {
    var reader = ByteReader(input)
    guard let length = try? reader.readUInt32() else { return "too short" }
    let body = Array(input.dropFirst(reader.position))
    let header = StreamFrame.Header(
      compressedLength: UInt32(body.count), uncompressedLength: length,
      checksum: body.withUnsafeBytes { StreamFrame.checksum($0) })
    if let defect = StreamFrame.plausibilityDefect(header) { return defect.reason }
    let context = ZSTD_createDCtx()
    defer { ZSTD_freeDCtx(context) }
    guard case .failure(let defect) = StreamFrame.decode(header, body: body, context: context!)
    else { return nil }
    return defect.reason
  }
}
