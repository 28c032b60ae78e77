import Foundation
import Testing

@testable import GDBRemote

/// `vFile`: gdb reads the target's files through the server, from the copies
/// `hostPath(forTargetFile:)` names, read-only.
@Suite struct GDBServerFileTests {
  let directory: URL
  let content = Array("\u{7f}ELF and the rest".utf8)

  init() throws {
    directory = FileManager.default.temporaryDirectory.appendingPathComponent("rewind-vfile-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
  }

  func makeTarget() throws -> FakeTarget {
    let copy = directory.appendingPathComponent("libfake.so").path
    try Data(content).write(to: URL(fileURLWithPath: copy))
    try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: copy)
    let link = directory.appendingPathComponent("exe").path
    try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "/usr/bin/fake")
    let target = GDBServerTests.makeTarget()
    target.files = ["/lib/libfake.so": copy, "/proc/31/exe": link, "/proc/31/maps": copy]
    target.procFiles = ["31/exe": .link("/usr/bin/fake"), "31/maps": .contents(Array("00400000-00401000 r-xp 0 0:0 0 /usr/bin/fake\n".utf8))]
    return target
  }

  func hexPath(_ path: String) -> String { hexString(Array(path.utf8)) }

  @Test func openReadStatAndClose() throws {
    defer { try? FileManager.default.removeItem(at: directory) }
    let (_, client) = try GDBServerTests.connect(to: try makeTarget())
    #expect(try client.request("vFile:setfs:1f") == "F0")
    let opened = try client.request("vFile:open:\(hexPath("/lib/libfake.so")),0,0")
    #expect(opened.hasPrefix("F") && !opened.hasPrefix("F-"))
    let fd = String(opened.dropFirst())
    #expect(try client.requestBytes("vFile:pread:\(fd),5,1") == Array("F5;".utf8) + content[1..<6])
    #expect(try client.requestBytes("vFile:pread:\(fd),100,a") == Array("F\(String(content.count - 10, radix: 16));".utf8) + content[10...])

    let stat = try client.requestBytes("vFile:fstat:\(fd)")
    #expect(Array(stat.prefix(4)) == Array("F40;".utf8))
    let fields = Array(stat.dropFirst(4))
    #expect(fields.count == 64)
    func bigEndian(_ range: Range<Int>) -> UInt64 { fields[range].reduce(0) { $0 << 8 | UInt64($1) } }
    #expect(bigEndian(8..<12) == 0o100640)  // st_mode: a regular file, rw-r-----
    #expect(bigEndian(28..<36) == UInt64(content.count))  // st_size
    #expect(bigEndian(56..<60) != 0)  // st_mtime

    #expect(try client.request("vFile:close:\(fd)") == "F0")
    #expect(try client.request("vFile:close:\(fd)") == "F-1,9")
  }

  @Test func missingWrittenAndForeignFilesAreRefused() throws {
    defer { try? FileManager.default.removeItem(at: directory) }
    let (server, client) = try GDBServerTests.connect(to: try makeTarget())
    #expect(try client.request("vFile:open:\(hexPath("/lib/libnothere.so")),0,0") == "F-1,2")
    #expect(try client.request("vFile:open:\(hexPath("/lib/libfake.so")),1,0") == "F-1,d")  // EACCES
    #expect(try client.request("vFile:open:\(hexPath("/lib/libfake.so")),2,0") == "F-1,d")
    #expect(try client.request("vFile:open:\(hexPath("/tmp/new")),201,1a4") == "F-1,1")  // EPERM
    #expect(server.log.waitForLine(containing: "gdb tried to open /lib/libfake.so for writing: refused"))
    // The server's own descriptors (stdin here) are not gdb's to read.
    #expect(try client.request("vFile:pread:0,10,0") == "F-1,9")
    #expect(try client.request("vFile:fstat:0") == "F-1,9")
  }

  @Test func readlinkReadsTheHostLink() throws {
    defer { try? FileManager.default.removeItem(at: directory) }
    let (_, client) = try GDBServerTests.connect(to: try makeTarget())
    #expect(try client.request("vFile:readlink:\(hexPath("/proc/31/exe"))") == "Fd;/usr/bin/fake")
    #expect(try client.request("vFile:readlink:\(hexPath("/proc/32/exe"))") == "F-1,2")
  }

  /// /proc files of the target's process come from the target, never from this machine's
  /// /proc (whose process of that pid is another), even where `hostPath` would name one.
  @Test func procFilesComeFromTheTarget() throws {
    defer { try? FileManager.default.removeItem(at: directory) }
    let (_, client) = try GDBServerTests.connect(to: try makeTarget())
    let opened = try client.request("vFile:open:\(hexPath("/proc/31/maps")),0,0")
    #expect(opened.hasPrefix("F") && !opened.hasPrefix("F-"))
    let fd = String(opened.dropFirst())
    let maps = "00400000-00401000 r-xp 0 0:0 0 /usr/bin/fake\n"
    #expect(try client.requestBytes("vFile:pread:\(fd),400,0") == Array("F\(String(maps.utf8.count, radix: 16));\(maps)".utf8))
    #expect(try client.request("vFile:close:\(fd)") == "F0")
    // This machine's /proc/1 exists; the target has no process 1.
    #expect(try client.request("vFile:open:\(hexPath("/proc/1/maps")),0,0") == "F-1,2")
    #expect(try client.request("vFile:readlink:\(hexPath("/proc/1/exe"))") == "F-1,2")
  }
}
