import Foundation
import Testing

@testable import GDBRemote

/// gdb itself reads `target.xml` and says where it expects each register in a `g`
/// reply; that must be where `RegisterFile.wireForm` puts it. This is the one test
/// here that runs a process, because only gdb can say what gdb expects.
@Suite struct TargetDescriptionGDBTests {
  @Test func gdbPlacesEveryRegisterWhereTheGReplyPutsIt() throws {
    let gdb = "/usr/bin/gdb"
    guard FileManager.default.isExecutableFile(atPath: gdb) else {
      // Issue 5 needs gdb anyway; the fix is `apt-get install gdb`.
      Issue.record("gdb is not installed at \(gdb); install it with apt-get install gdb")
      return
    }
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rewind-tdesc-\(getpid())")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let xmlPath = directory.appendingPathComponent("target.xml").path
    try TargetDescription.xml.write(toFile: xmlPath, atomically: true, encoding: .utf8)

    let process = Process()
    process.executableURL = URL(fileURLWithPath: gdb)
    // An executable gives gdb an architecture to apply the description to.
    process.arguments = [
      "-nx", "-batch", "-ex", "set tdesc filename \(xmlPath)", "-ex", "file /bin/true",
      "-ex", "maint print remote-registers",
    ]
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    try process.run()
    let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()

    // Rows: Name Nr Rel Offset Size Type Rmt-Nr g/G-Offset; the type may be several words.
    var placed: [String: (number: Int, offset: Int)] = [:]
    for line in text.split(separator: "\n") {
      let columns = line.split(separator: " ")
      guard columns.count >= 8, let offset = Int(columns.last!), let number = Int(columns[columns.count - 2])
      else { continue }
      placed[String(columns[0])] = (number, offset)
    }
    var offset = 0
    for register in X86_64Register.all {
      let found = placed[register.name]
      #expect(found?.number == register.number, "\(register.name) in gdb: \(String(describing: found))")
      #expect(found?.offset == offset, "\(register.name) in gdb: \(String(describing: found))")
      offset += register.byteSize
    }
  }
}
