import Foundation
import Testing

@testable import TraceFormat

#if canImport(Glibc)
  import Glibc
#endif

@Suite struct FileStoreTests {
  @Test func aFileOutsideSystemDirectoriesIsCopiedNotLinked() throws {
    try withTemporaryDirectory { root in
      let original = root + "/lib.so"
      try Data("version one".utf8).write(to: URL(fileURLWithPath: original))
      let writer = try TraceWriter(directory: root + "/trace", header: sampleHeader())
      let saved = try writer.saveFile(atPath: original)
      #expect(saved.originalPath == original)
      #expect(saved.fileSize == 11)
      #expect(saved.contentHash.count == 32)
      let copy = root + "/trace/files/" + saved.contentHash
      #expect(try inode(copy) != inode(original))

      // Rewriting the original in place (same inode) must not reach the saved copy.
      let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: original))
      try handle.write(contentsOf: Data("VERSION TWO".utf8))
      try handle.close()
      #expect(try String(contentsOfFile: copy, encoding: .utf8) == "version one")
      try writer.finish(summary: TraceSummary(exitStatus: nil))
    }
  }

  @Test func identicalContentIsStoredOnce() throws {
    try withTemporaryDirectory { root in
      try Data("same bytes".utf8).write(to: URL(fileURLWithPath: root + "/a"))
      try Data("same bytes".utf8).write(to: URL(fileURLWithPath: root + "/b"))
      try Data("other bytes".utf8).write(to: URL(fileURLWithPath: root + "/c"))
      let writer = try TraceWriter(directory: root + "/trace", header: sampleHeader())
      let a = try writer.saveFile(atPath: root + "/a")
      let b = try writer.saveFile(atPath: root + "/b")
      let c = try writer.saveFile(atPath: root + "/c")
      let aAgain = try writer.saveFile(atPath: root + "/a")
      #expect(a.contentHash == b.contentHash)
      #expect(a.contentHash != c.contentHash)
      #expect(aAgain == a)
      #expect(b.originalPath == root + "/b")
      let stored = try FileManager.default.contentsOfDirectory(atPath: root + "/trace/files")
      #expect(stored.sorted() == [a.contentHash, c.contentHash].sorted())
      try writer.finish(summary: TraceSummary(exitStatus: nil))

      let reader = try TraceReader(directory: root + "/trace")
      let path = try reader.existingSavedFilePath(for: c)
      #expect(try String(contentsOfFile: path, encoding: .utf8) == "other bytes")
    }
  }

  @Test func anOpenDescriptorIsSavedUnderItsOriginalPath() throws {
    try withTemporaryDirectory { root in
      try Data(repeating: 7, count: 3 << 20).write(to: URL(fileURLWithPath: root + "/big"))
      let fd = open(root + "/big", O_RDONLY)
      try #require(fd >= 0)
      defer { close(fd) }
      // The path goes away, as a replaced library's does; the descriptor still reads it.
      unlink(root + "/big")
      let writer = try TraceWriter(directory: root + "/trace", header: sampleHeader())
      let saved = try writer.saveFile(openFileDescriptor: fd, originalPath: "/opt/app/big")
      #expect(saved.originalPath == "/opt/app/big")
      #expect(saved.fileSize == 3 << 20)
      let copy = root + "/trace/files/" + saved.contentHash
      #expect(
        try Data(contentsOf: URL(fileURLWithPath: copy)) == Data(repeating: 7, count: 3 << 20))
      try writer.finish(summary: TraceSummary(exitStatus: nil))
    }
  }

  @Test func aSystemLibraryIsSavedAndHashedOncePerRecording() throws {
    let library = [
      "/usr/lib/x86_64-linux-gnu/libc.so.6", "/lib/x86_64-linux-gnu/libc.so.6", "/bin/sh",
    ]
    .first { FileManager.default.fileExists(atPath: $0) }
    let path = try #require(library, "this machine has no libc.so.6 or /bin/sh")
    try withTemporaryDirectory { root in
      let writer = try TraceWriter(directory: root + "/trace", header: sampleHeader())
      let first = try writer.saveFile(atPath: path)
      let second = try writer.saveFile(atPath: path)
      #expect(first == second)
      let saved = root + "/trace/files/" + first.contentHash
      #expect(
        try Data(contentsOf: URL(fileURLWithPath: saved))
          == Data(contentsOf: URL(fileURLWithPath: path)))
      // Root may link anything on the same file system (fs.protected_hardlinks stops others).
      if getuid() == 0, try device(path) == device(root) {
        #expect(
          try inode(saved) == inode(URL(fileURLWithPath: path).resolvingSymlinksInPath().path))
      }
      try writer.finish(summary: TraceSummary(exitStatus: nil))
    }
  }

  @Test func hardLinkRootsAreWholePathComponents() {
    #expect(FileStore.isUnderHardLinkRoot("/usr/lib/libc.so.6"))
    #expect(FileStore.isUnderHardLinkRoot("/lib64/ld-linux-x86-64.so.2"))
    #expect(!FileStore.isUnderHardLinkRoot("/usrlocal/lib.so"))
    #expect(!FileStore.isUnderHardLinkRoot("/tmp/lib.so"))
    #expect(!FileStore.isUnderHardLinkRoot("/home/me/opt/x"))
  }

  @Test func contentHashIsXXH3128InCanonicalHex() throws {
    // XXH3_128bits of no bytes, from the xxHash sanity tests.
    var hasher = ContentHasher()
    hasher.update([])
    #expect(hasher.finalize() == "99aa06d3014798d86001c324468d497f")
  }

  private func device(_ path: String) throws -> UInt64 {
    let attributes = try FileManager.default.attributesOfItem(atPath: path)
    return (attributes[.systemNumber] as? NSNumber)?.uint64Value ?? 0
  }

  private func inode(_ path: String) throws -> UInt64 {
    let attributes = try FileManager.default.attributesOfItem(atPath: path)
    return (attributes[.systemFileNumber] as? NSNumber)?.uint64Value ?? 0
  }
}
