import Foundation
import Testing

@testable import Replayer

@Suite struct FileComparisonsTests {
  @Test func comparesBytesAndReadsAgainAFileThatChanged() throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rewind-compare-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let a = directory.appendingPathComponent("a").path, b = directory.appendingPathComponent("b").path
    // Larger than the MiB read at a time, differing only in its last byte.
    var bytes = [UInt8](repeating: 7, count: (1 << 20) + 5)
    try Data(bytes).write(to: URL(fileURLWithPath: a))
    try Data(bytes).write(to: URL(fileURLWithPath: b))
    var comparisons = FileComparisons()
    let same = comparisons.sameContents(a, b), itself = comparisons.sameContents(a, a)
    #expect(same && itself)
    bytes[bytes.count - 1] = 8
    // Rewritten in place with the same size: a new change time tells it apart.
    usleep(10_000)
    let handle = try #require(FileHandle(forWritingAtPath: b))
    try handle.write(contentsOf: bytes)
    try handle.close()
    let changed = comparisons.sameContents(a, b), missing = comparisons.sameContents(a, directory.appendingPathComponent("missing").path)
    #expect(!changed && !missing)
    #expect(!sameContents(a, b))
  }
}
