import Foundation
import Testing

@testable import GDBRemote

/// The inputs of scripts/fuzz.sh's gdb target (fuzz/GDBPacketFuzzer.swift): its seeds in
/// fuzz/corpus/gdb and any input that once crashed it, kept in Tests/FuzzFindings/gdb. Each
/// decodes to the same frames however the socket splits it, and every packet parses or
/// throws.
@Suite struct FuzzInputTests {
  static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("../..").standardized.path

  static let inputs: [String] = ["fuzz/corpus/gdb", "Tests/FuzzFindings/gdb"].flatMap { dir in
    ((try? FileManager.default.contentsOfDirectory(atPath: root + "/" + dir)) ?? []).sorted()
      .map { dir + "/" + $0 }
  }

  @Test func thereAreSeeds() {
    #expect(Self.inputs.count >= 40, "\(Self.inputs.count) inputs under \(Self.root)")
  }

  @Test(arguments: inputs) func decodesAlikeInAnyChunksAndParses(path: String) throws {
    let input = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.root + "/" + path)))
    var whole = PacketDecoder(maximumPacketSize: 256)
    let frames = whole.feed(input)
    #expect(!frames.isEmpty, "no frame in \(path)")
    for chunk in [1, 3, 7] {
      var chunked = PacketDecoder(maximumPacketSize: 256)
      var again: [PacketDecoder.Frame] = []
      for start in stride(from: 0, to: input.count, by: chunk) {
        again += chunked.feed(input[start..<min(start + chunk, input.count)])
      }
      #expect(again == frames, "in chunks of \(chunk)")
    }
    for case .packet(let payload) in frames {
      _ = try? GDBRequest(parsing: payload)
    }
  }
}
