import Foundation
import Testing

@testable import GDBRemote

/// gdb 13 itself against the server and a `FakeTarget`: what a user would type, and
/// what gdb prints back. Only gdb can say that the replies mean what we intend.
@Suite struct GDBServerGDBTests {
  static let gdb = "/usr/bin/gdb"

  /// Runs gdb in batch mode on `commands` after connecting; its stdout and stderr.
  static func runGDB(port: UInt16, _ commands: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: gdb)
    process.arguments = ["-batch", "-nx", "-ex", "target remote 127.0.0.1:\(port)"] + commands.flatMap { ["-ex", $0] }
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    process.standardInput = FileHandle.nullDevice
    try process.run()
    // A server that stops answering must fail the test, not hang it.
    let watchdog = DispatchWorkItem { if process.isRunning { process.terminate() } }
    DispatchQueue.global().asyncAfter(deadline: .now() + 30, execute: watchdog)
    let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    watchdog.cancel()
    return text
  }

  @Test(
    .enabled(
      if: FileManager.default.isExecutableFile(atPath: gdb),
      "gdb is not installed at /usr/bin/gdb; install it with apt-get install gdb"))
  func gdbReadsRegistersMemoryAndTheExecutableAndIsToldWhyWritesFail() throws {
    let target = GDBServerTests.makeTarget()
    // Any ELF does: gdb reads it through vFile open/pread/fstat to find its symbols.
    target.files = ["/usr/bin/fake": "/bin/true"]
    let server = try RunningServer(target: target)
    let output = try Self.runGDB(
      port: server.port,
      [
        "info registers rip", "x/4xb 0x401136", "monitor when",
        "set var *(char *)0x401136 = 0", "set var $rax = 1", "break *0x401136", "continue", "continue",
      ])
    #expect(output.contains("Reading symbols from target:/usr/bin/fake..."), "\(output)")
    #expect(output.contains(/rip\s+0x401136\s+0x401136/), "\(output)")
    #expect(output.contains("0x401136:\t0x55\t0x48\t0x89\t0xe5"), "\(output)")
    #expect(output.contains("Current event: 0\n"), "\(output)")
    #expect(output.contains("Cannot access memory at address 0x401136"), "\(output)")
    #expect(
      output.contains(
        "Could not write register \"rax\"; remote failure reply 'E.refused: a replay cannot change registers outside a diversion'"),
      "\(output)")
    #expect(output.contains("hit Breakpoint 1, 0x0000000000401136 in ?? ()"), "\(output)")
    #expect(output.contains("[Inferior 1 (process 31) exited normally]"), "\(output)")
    #expect(server.waitUntilServed())
    #expect(server.log.lines.contains("gdb tried to write memory at 0x401136: refused: a replay cannot change memory outside a diversion"))
    #expect(target.resumes.count >= 2)
  }
}
