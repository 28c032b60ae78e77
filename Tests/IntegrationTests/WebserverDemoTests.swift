// The examples/webserver demo: a forking HTTP server recorded while a client,
// run natively, sends it `GET /` and `GET /crash`; the child serving /crash
// dies of SIGSEGV. `rewind ps` must show that child, and the whole tree and
// the crashed child alone must replay faithfully.

import Foundation
import Testing

@Suite(.enabled(if: Harness.hasCompiler, "needs a C compiler: apt-get install gcc"))
struct WebserverDemoTests {
  static let exampleDir = Harness.packageRoot.appendingPathComponent("examples/webserver")

  @Test func recordedServerWithACrashingChild() throws {
    let server = try Harness.compile(Self.exampleDir.appendingPathComponent("webserver.c").path, as: "webserver")
    let client = try Harness.compile(Self.exampleDir.appendingPathComponent("client.c").path, as: "webserver-client")
    let work = try Harness.makeWorkDir("webserver")
    let trace = work + "/trace"

    let recording = try Harness.start(
      [try Harness.rewindPath(), "record", "-o", trace, server, "0", "2"],
      env: ["REWIND_TRACE_DIR": work + "/traces"], cwd: work)
    guard let listening = recording.waitForLine(startingWith: "listening on ", timeout: 30),
      let port = Int(listening.dropFirst("listening on ".count))
    else {
      let result = recording.finish(timeout: 1)
      Issue.record("the recorded server never said 'listening on PORT'\n\(result.summary)")
      return
    }

    let page = try Harness.run([client, "\(port)", "/"], timeout: 30)
    #expect(page.exitedNormally && page.status == 0, "\(page.summary)")
    #expect(page.stdout.hasPrefix("GET /: HTTP/1.0 200 OK\n"), "\(page.summary)")
    let crash = try Harness.run([client, "\(port)", "/crash"], timeout: 30)
    #expect(crash.exitedNormally && crash.status == 0, "\(crash.summary)")
    #expect(crash.stdout.contains("GET /crash: no response"), "\(crash.summary)")

    let record = recording.finish(timeout: 60)
    try #require(record.exitedNormally && record.status == 0, "record should exit 0\n\(record.summary)")
    #expect(record.stdout.contains("killed by signal 11"), "\(record.summary)")
    #expect(record.stdout.hasSuffix("served 2 connections\n"), "\(record.summary)")

    let processes = try Harness.ps(trace)
    try #require(processes.count == 3, "the server and one child per connection: \(processes)")
    #expect(processes[0].ppid == nil && processes[0].exitCode == 0, "\(processes[0])")
    #expect(processes[0].command == [server, "0", "2"], "\(processes[0])")
    let crashed = processes.filter { $0.signal == "SIGSEGV" }
    try #require(crashed.count == 1, "exactly one child should have died of SIGSEGV: \(processes)")
    let child = crashed[0]
    #expect(child.ppid == processes[0].pid && child.exitCode == nil, "\(child)")
    #expect(record.stdout.contains("child \(child.pid): GET /crash\n"), "\(record.summary)")
    let served = try #require(processes.first { $0.pid != child.pid && $0.ppid != nil })
    #expect(served.exitCode == 0 && served.signal == nil, "\(served)")

    let replay = try Harness.replay(trace)
    #expect(replay.exitedNormally && replay.status == 0, "whole-tree replay should be faithful\n\(replay.summary)")
    #expect(replay.stdout == record.stdout, "\(replay.summary)")

    let alone = try assertReplayProcess(trace, child.pid)
    #expect(alone.stdout == "child \(child.pid): GET /crash\n", "\(alone.summary)")

    // gdb, launched by `rewind replay -f`, on the crashed child from its fork: the crash
    // is in the request handler.
    if Harness.which("gdb") != nil {
      let debug = try Harness.rewind(
        ["replay", "-f", "\(child.pid)", trace, "--", "-nx", "-batch", "-ex", "continue", "-ex", "bt"], cwd: work)
      #expect(debug.exitedNormally && debug.status == 0, "\(debug.summary)")
      #expect(debug.stdout.contains("Program received signal SIGSEGV, Segmentation fault."), "\(debug.summary)")
      #expect(debug.stdout.contains("#0  ") && debug.stdout.contains(" in handle (fd="), "\(debug.summary)")
      #expect(debug.stdout.contains(" in main (argc=3, argv="), "\(debug.summary)")
    }
  }

  /// demo.sh itself runs to the end: it builds, records, lists and replays.
  @Test(.enabled(if: Harness.which("bash") != nil && Harness.which("timeout") != nil, "needs bash and coreutils"))
  func demoScript() throws {
    let work = try Harness.makeWorkDir("webserver-demo")
    let result = try Harness.run(
      ["/usr/bin/env", "bash", Self.exampleDir.appendingPathComponent("demo.sh").path],
      env: ["REWIND": try Harness.rewindPath(), "TRACE": work + "/trace", "TMPDIR": work], cwd: work,
      timeout: 180)
    #expect(result.exitedNormally && result.status == 0, "\(result.summary)")
    let crashedRow = result.stdout.split(separator: "\n").first { $0.split(separator: "\t").dropFirst(2).first == "SIGSEGV" }
    let pid = try #require(crashedRow?.split(separator: "\t").first, "rewind ps showed no SIGSEGV row\n\(result.summary)")
    #expect(result.stdout.contains("--process \(pid) "), "\(result.summary)")
    // The replay of the crashed child echoes its one line (after the command that ran it).
    let afterReplay = result.stdout.components(separatedBy: "--process \(pid) ").last ?? ""
    #expect(afterReplay.contains("child \(pid): GET /crash\n"), "\(result.summary)")
    // Then gdb on it prints the backtrace of the crash.
    let afterDebug = result.stdout.components(separatedBy: "replay -f \(pid) ").last ?? ""
    #expect(afterDebug.contains("Program received signal SIGSEGV"), "\(result.summary)")
    #expect(afterDebug.contains(" in handle (fd="), "\(result.summary)")
  }
}
