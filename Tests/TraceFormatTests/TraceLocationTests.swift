import Foundation
import Testing

@testable import TraceFormat

@Suite struct TraceLocationTests {
  @Test func defaultRootFollowsTheEnvironment() {
    #expect(
      TraceLocation.defaultRoot(environment: ["REWIND_TRACE_DIR": "/traces", "HOME": "/h"])
        == "/traces")
    #expect(
      TraceLocation.defaultRoot(environment: ["XDG_DATA_HOME": "/xdg", "HOME": "/h"])
        == "/xdg/rewind")
    #expect(TraceLocation.defaultRoot(environment: ["HOME": "/h"]) == "/h/.local/share/rewind")
    // A relative XDG_DATA_HOME is invalid per the XDG spec.
    #expect(
      TraceLocation.defaultRoot(environment: ["XDG_DATA_HOME": "rel", "HOME": "/h"])
        == "/h/.local/share/rewind")
  }

  @Test func newDirectoriesAreNamedAfterTheProgramWithTheSmallestFreeNumber() throws {
    try withTemporaryDirectory { base in
      let root = base + "/traces"
      let first = try TraceLocation.makeNewTraceDirectory(
        root: root, executableName: "/usr/bin/prog")
      let second = try TraceLocation.makeNewTraceDirectory(root: root, executableName: "prog")
      let other = try TraceLocation.makeNewTraceDirectory(root: root, executableName: "./other")
      #expect(first == root + "/prog-0")
      #expect(second == root + "/prog-1")
      #expect(other == root + "/other-0")
      try FileManager.default.removeItem(atPath: first)
      #expect(try TraceLocation.makeNewTraceDirectory(root: root, executableName: "prog") == first)
      #expect(
        try TraceLocation.makeNewTraceDirectory(root: root, executableName: "prog") == root
          + "/prog-2")
    }
  }

  @Test func concurrentRecordersGetDistinctDirectories() throws {
    try withTemporaryDirectory { root in
      let results = NSLock()
      nonisolated(unsafe) var made: [String] = []
      DispatchQueue.concurrentPerform(iterations: 16) { _ in
        let directory = try! TraceLocation.makeNewTraceDirectory(root: root, executableName: "p")
        results.withLock { made.append(directory) }
      }
      #expect(Set(made).count == 16)
      #expect(Set(made) == Set((0..<16).map { root + "/p-\($0)" }))
    }
  }

  @Test func latestTracePointsAtTheNewestRecording() throws {
    try withTemporaryDirectory { root in
      let first = try TraceLocation.makeNewTraceDirectory(root: root, executableName: "prog")
      try TraceLocation.updateLatest(root: root, directory: first)
      #expect(try TraceLocation.resolve(nil, root: root) == first)
      let second = try TraceLocation.makeNewTraceDirectory(root: root, executableName: "prog")
      try TraceLocation.updateLatest(root: root, directory: second)
      #expect(try TraceLocation.resolve(nil, root: root) == second)
      // Relative, so that the root can move.
      let link = try FileManager.default.destinationOfSymbolicLink(atPath: root + "/latest-trace")
      #expect(link == "prog-1")
      let leftovers = try FileManager.default.contentsOfDirectory(atPath: root)
      #expect(leftovers.sorted() == ["latest-trace", "prog-0", "prog-1"])
    }
  }

  @Test func namesResolveInTheRootAndPathsAsGiven() throws {
    try withTemporaryDirectory { root in
      let made = try TraceLocation.makeNewTraceDirectory(root: root, executableName: "prog")
      #expect(try TraceLocation.resolve("prog-0", root: root) == made)
      #expect(try TraceLocation.resolve(made, root: "/nonexistent") == made)
    }
  }

  @Test func resolveExplainsWhatIsMissing() throws {
    try withTemporaryDirectory { root in
      #expect {
        try TraceLocation.resolve(nil, root: root)
      } throws: { error in
        guard case .notATrace(let path, let reason) = error as? TraceError else { return false }
        return path == root + "/latest-trace" && reason.contains("nothing has been recorded")
      }
      #expect {
        try TraceLocation.resolve("prog-9", root: root)
      } throws: { error in
        guard case .notATrace(let path, let reason) = error as? TraceError else { return false }
        return path == "prog-9" && reason.contains("no trace of that name in '\(root)'")
      }
      // latest-trace pointing at a deleted trace.
      let made = try TraceLocation.makeNewTraceDirectory(root: root, executableName: "prog")
      try TraceLocation.updateLatest(root: root, directory: made)
      try FileManager.default.removeItem(atPath: made)
      #expect(throws: TraceError.self) { try TraceLocation.resolve(nil, root: root) }
    }
  }
}
