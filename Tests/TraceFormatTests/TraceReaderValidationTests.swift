import Foundation
import Testing

@testable import TraceFormat

/// What `TraceReader.init` says about directories that are not traces it can read.
@Suite struct TraceReaderValidationTests {
  @Test func aDirectoryWithoutHeaderIsNotATrace() throws {
    try withTemporaryDirectory { root in
      #expect(throws: TraceError.notATrace(path: root, reason: "it has no header.json")) {
        try TraceReader(directory: root)
      }
      let message = TraceError.notATrace(path: "/tmp", reason: "it has no header.json")
        .description
      #expect(
        message
          == "'/tmp' is not a rewind trace: it has no header.json. Record one with `rewind record PROGRAM`."
      )
    }
  }

  @Test func aMissingPathOrAFileIsNotATrace() throws {
    try withTemporaryDirectory { root in
      #expect {
        try TraceReader(directory: root + "/nope")
      } throws: { error in
        guard case .notATrace(_, let reason) = error as? TraceError else { return false }
        return reason.contains("no such file")
      }
      _ = FileManager.default.createFile(atPath: root + "/file", contents: Data("x".utf8))
      #expect {
        try TraceReader(directory: root + "/file")
      } throws: { error in
        guard case .notATrace(_, let reason) = error as? TraceError else { return false }
        return reason.contains("not a trace directory")
      }
    }
  }

  @Test func anotherFormatVersionIsUnsupportedWithAnExplanation() throws {
    try withTemporaryDirectory { root in
      let directory = root + "/trace"
      _ = try writeTrace(directory, [smallSyscall(0)])
      var header = sampleHeader()
      header.formatVersion = TraceHeader.currentFormatVersion + 1
      try TraceJSON.write(header, to: directory + "/header.json")
      let expected = TraceError.unsupportedVersion(path: directory, found: 6, supported: 5)
      #expect(throws: expected) { try TraceReader(directory: directory) }
      #expect(
        expected.description
          == "trace '\(directory)' has format version 6; this rewind reads versions 1 to 5. "
          + "Replay it with the rewind that recorded it, or record again.")
    }
  }

  @Test func aFutureHeaderWithOtherFieldsStillReportsItsVersion() throws {
    try withTemporaryDirectory { root in
      let directory = root + "/trace"
      _ = try writeTrace(directory, [])
      try Data(#"{"formatVersion": 7, "somethingNew": true}"#.utf8)
        .write(to: URL(fileURLWithPath: directory + "/header.json"))
      #expect(throws: TraceError.unsupportedVersion(path: directory, found: 7, supported: 5)) {
        try TraceReader(directory: directory)
      }
    }
  }

  @Test func aMissingStreamIsReported() throws {
    try withTemporaryDirectory { root in
      let directory = root + "/trace"
      _ = try writeTrace(directory, [smallSyscall(0)])
      try FileManager.default.removeItem(atPath: directory + "/mmaps")
      #expect {
        try TraceReader(directory: directory)
      } throws: { error in
        guard case .notATrace(_, let reason) = error as? TraceError else { return false }
        return reason.contains("'mmaps'")
      }
    }
  }

  @Test func aSavedFileThatIsGoneIsMissingFile() throws {
    try withTemporaryDirectory { root in
      let directory = root + "/trace"
      _ = try writeTrace(directory, [])
      let reader = try TraceReader(directory: directory)
      let file = mappedFile("/usr/lib/libc.so.6")
      #expect(reader.savedFilePath(for: file) == directory + "/files/" + file.contentHash)
      let expected = TraceError.missingFile(
        path: directory, hash: file.contentHash, originalPath: "/usr/lib/libc.so.6")
      #expect(throws: expected) { try reader.existingSavedFilePath(for: file) }
      #expect(expected.description.contains("'/usr/lib/libc.so.6'"))
    }
  }
}
