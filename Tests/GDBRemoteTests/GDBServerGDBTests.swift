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

extension GDBServerGDBTests {
  /// ^C typed at gdb's terminal: `script` gives gdb a pseudo-terminal, whose line
  /// discipline turns the 0x03 written to it into a SIGINT, which gdb passes on to the
  /// server as 0x03, as when a user presses ^C.
  @Test(
    .enabled(
      if: FileManager.default.isExecutableFile(atPath: gdb) && FileManager.default.isExecutableFile(atPath: "/usr/bin/script"),
      "gdb or script is not installed; install them with apt-get install gdb util-linux"))
  func controlCInGDBInterruptsAResume() throws {
    let target = GDBServerTests.makeTarget()
    target.blocksUntilInterrupted = true
    let server = try RunningServer(target: target)
    let gdb = "\(Self.gdb) -batch -nx -ex 'target remote 127.0.0.1:\(server.port)' -ex continue -ex 'info registers rip'"
    let input = Pipe()
    let output = Pipe()
    let pid = try spawnWithSignalsUnblocked(
      ["/usr/bin/script", "-qefc", gdb, "/dev/null"], input: input.fileHandleForReading.fileDescriptor,
      output: output.fileHandleForWriting.fileDescriptor)
    try input.fileHandleForReading.close()
    try output.fileHandleForWriting.close()
    // A server that stops answering must fail the test, not hang it; gdb gets SIGHUP
    // when script and its terminal go away.
    let watchdog = DispatchWorkItem { kill(pid, SIGKILL) }
    DispatchQueue.global().asyncAfter(deadline: .now() + 30, execute: watchdog)
    #expect(target.resumeStarted.wait(timeout: .now() + 10) == .success)
    input.fileHandleForWriting.write(Data([0x03]))
    let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    var status: CInt = 0
    waitpid(pid, &status, 0)
    watchdog.cancel()
    #expect(target.interrupts == 1)
    #expect(text.contains("received signal SIGINT, Interrupt."), "\(text)")
    #expect(text.contains(/rip\s+0x401136\s+0x401136/), "\(text)")
    #expect(server.waitUntilServed())
  }

  /// posix_spawn with an empty signal mask: test threads (and so a Foundation
  /// `Process`) block SIGINT, which a child would inherit, and gdb never unblocks it.
  func spawnWithSignalsUnblocked(_ arguments: [String], input: CInt, output: CInt) throws -> pid_t {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_adddup2(&actions, input, 0)
    posix_spawn_file_actions_adddup2(&actions, output, 1)
    posix_spawn_file_actions_adddup2(&actions, output, 2)
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var empty = sigset_t()
    sigemptyset(&empty)
    posix_spawnattr_setsigmask(&attributes, &empty)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))
    var pid = pid_t()
    let argv = arguments.map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    let status = posix_spawn(&pid, arguments[0], &actions, &attributes, argv, environ)
    guard status == 0 else { throw GDBServerError("posix_spawn \(arguments[0]): \(String(cString: strerror(status)))") }
    return pid
  }
}
