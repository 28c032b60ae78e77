// What gdb front ends need of a replay: `info proc` about the replayed process (never a
// local one), a sysroot of the recorded files for the gdb `rewind replay` launches, quiet
// answers to probes, GEF's commands, and gdb/MI.

import Foundation
import Testing

@Suite(
  .enabled(if: Harness.hasCompiler, "needs a C compiler: apt-get install gcc"),
  .enabled(if: Harness.which("gdb") != nil, "needs gdb: apt-get install gdb"))
struct FrontEndTests {
  /// GEF, for the tests that load it: ../shared/tools/gef/gef.py beside the checkout, where
  /// the team keeps a copy (it is not part of rewind); the tests that need it are skipped
  /// without it.
  static let gef: String? = {
    let path = Harness.packageRoot.deletingLastPathComponent().appendingPathComponent("shared/tools/gef/gef.py").path
    return FileManager.default.fileExists(atPath: path) ? path : nil
  }()

  private func recorded() throws -> DebugSession {
    try DebugSession.recordFixture("reverse_target", expectedStatus: 139)
  }

  @Test func infoProcDescribesTheReplayedProcess() throws {
    let session = try recorded()
    let (gdb, rewind) = try session.gdb([
      "handle SIGUSR1 nostop noprint pass", "break scale", "continue", "info proc mappings", "info proc cmdline", "info proc exe",
      "info proc cwd",
    ])
    let exe = session.work + "/reverse_target"
    #expect(gdb.contains("r-xp   \(exe)"), "\(gdb)")
    #expect(gdb.contains("libc.so.6") && gdb.contains("[stack]"), "\(gdb)")
    // The trace's saved copies, which replay maps, go by the names the program knew; so do
    // the small mappings replay copies into anonymous memory (libc's data: GEF finds the
    // libc version there).
    #expect(!gdb.contains("/files/"), "\(gdb)")
    let libcLines = gdb.split(separator: "\n").filter { $0.hasSuffix("/libc.so.6") }
    #expect(libcLines.count >= 5 && libcLines.contains { $0.contains(" rw-p ") }, "\(gdb)")

    #expect(gdb.contains("cmdline = '\(exe)'") && gdb.contains("exe = '\(exe)'") && gdb.contains("cwd = '\(session.work)'"), "\(gdb)")
    #expect(!rewind.stderr.contains("failed"), "\(rewind.summary)")
  }

  /// libc's data and its .bss as the recorded process's /proc/PID/maps had them: a named
  /// line and an anonymous one, though replay copies the data into anonymous memory that
  /// the kernel merges with the .bss.
  @Test func infoProcMappingsMatchesTheRecordedMaps() throws {
    let work = try Harness.makeWorkDir("debug-libc-maps")
    let exe = try Harness.fixtureCopy("libc_maps", in: work)
    let trace = work + "/trace"
    let record = try Harness.rewind(["record", "-o", trace, exe], env: ["REWIND_TRACE_DIR": work + "/traces"], cwd: work)
    try #require(record.exitedNormally && record.status == 0, "\(record.summary)")
    // `start-end perms offset`, as the program saw them, and as gdb lists them.
    let recorded = record.stdout.split(separator: "\n").filter { $0.hasPrefix("MAPS ") }.map { line -> String in
      let fields = line.split(separator: " ")
      let range = fields[1].split(separator: "-")
      return "0x\(range[0]) 0x\(range[1]) \(fields[2]) 0x\(String(UInt64(fields[3], radix: 16) ?? 0, radix: 16))"
    }
    try #require(recorded.count == 2, "\(record.summary)")
    let (gdb, rewind) = try DebugSession(trace: trace, work: work).gdb(["break here", "continue", "info proc mappings"])
    let listed = gdb.split(separator: "\n").map { $0.split(separator: " ") }.filter { $0.count >= 5 && $0[0].hasPrefix("0x") }
      .map { "\($0[0]) \($0[1]) \($0[4]) \($0[3])" }
    #expect(recorded.allSatisfy(listed.contains), "recorded:\n\(recorded.joined(separator: "\n"))\n\(gdb)")
    #expect(!rewind.stderr.contains("failed"), "\(rewind.summary)")
  }

  /// `info proc cwd` follows chdir and fchdir (which replay emulates) to the replayed
  /// position, forwards and after going backwards.
  @Test func infoProcCwdFollowsTheProcess() throws {
    let work = try Harness.makeWorkDir("debug-chdir")
    let exe = try Harness.fixtureCopy("chdir_steps", in: work)
    let target = work + "/target"
    try FileManager.default.createDirectory(atPath: target + "/sub", withIntermediateDirectories: true)
    let trace = work + "/trace"
    let record = try Harness.rewind(["record", "-o", trace, exe, target], env: ["REWIND_TRACE_DIR": work + "/traces"], cwd: work)
    try #require(record.exitedNormally && record.status == 0, "\(record.summary)")
    let session = DebugSession(trace: trace, work: work)
    let step = ["continue", "print step", "info proc cwd"]
    let (gdb, rewind) = try session.gdb(
      ["break here"] + step + step + step + step + step + ["reverse-continue", "print step", "info proc cwd", "reverse-continue", "print step", "info proc cwd"])
    let answers = gdb.split(separator: "\n").filter { $0.hasPrefix("cwd = ") || $0.hasPrefix("$") }.map { String($0) }
    #expect(
      answers == [
        "$1 = 0", "cwd = '\(work)'", "$2 = 1", "cwd = '\(target)'", "$3 = 2", "cwd = '\(target)/sub'", "$4 = 3", "cwd = '/'",
        "$5 = 4", "cwd = '\(target)'", "$6 = 3", "cwd = '/'", "$7 = 2", "cwd = '\(target)/sub'",
      ], "\(gdb)")
    #expect(!rewind.stderr.contains("failed"), "\(rewind.summary)")
  }

  /// The gdb `rewind replay` starts reads the recorded files from a sysroot made of the
  /// trace's copies, not through the connection, and the sysroot goes when gdb does.
  @Test func launchedGdbReadsTheRecordedFilesLocally() throws {
    let session = try recorded()
    let result = try Harness.rewind(
      ["replay", "-q", session.trace, "--", "-nx", "-batch", "-ex", "handle SIGUSR1 nostop noprint pass", "-ex", "break scale", "-ex", "continue",
       "-ex", "info sharedlibrary", "-ex", "monitor info mem"],
      env: ["REWIND_TRACE_DIR": session.work + "/traces"], cwd: session.work)
    let output = result.stdout + result.stderr
    #expect(output.contains("Breakpoint 1, scale (value=0, factor=2)"), "\(result.summary)")
    #expect(output.contains("rewind-sysroot-") && !output.contains("from remote target"), "\(result.summary)")
    #expect(output.contains("Yes         ") && output.contains("libc.so.6"), "\(result.summary)")
    // A probe the target declines: gdb says so, rewind adds nothing.
    #expect(!result.stderr.contains("rewind: gdb ran"), "\(result.summary)")
    let sysroot = output.range(of: "/[^ ]*rewind-sysroot-[A-Za-z0-9]+", options: .regularExpression).map { String(output[$0]) }
    #expect(sysroot.map { !FileManager.default.fileExists(atPath: $0) } == true, "the sysroot \(sysroot ?? "?") is left behind")
  }

  @Test(.enabled(if: FrontEndTests.gef != nil, "needs GEF at ../shared/tools/gef/gef.py"))
  func gefWorksOnAReplay() throws {
    let session = try recorded()
    let result = try Harness.rewind(
      ["replay", "-q", session.trace, "--", "-nx", "-batch", "-ex", "source \(Self.gef ?? "")",
       "-ex", "handle SIGUSR1 nostop noprint pass", "-ex", "break scale", "-ex", "continue", "-ex", "vmmap", "-ex", "checksec",
       "-ex", "xinfo $rsp", "-ex", "context", "-ex", "got", "-ex", "reverse-stepi", "-ex", "xinfo $pc"],
      env: ["REWIND_TRACE_DIR": session.work + "/traces"], cwd: session.work)
    // Without GEF's colours, and the markers around them for readline.
    let output = (result.stdout + result.stderr).replacingOccurrences(of: "\u{1b}\\[[0-9;]*m", with: "", options: .regularExpression)
      .replacingOccurrences(of: "\u{1}", with: "").replacingOccurrences(of: "\u{2}", with: "")
    #expect(output.contains("r-x \(session.work)/reverse_target"), "vmmap lists the executable\n\(output)")
    #expect(output.contains("libc.so.6") && output.contains("[stack]"), "\(output)")
    #expect(output.contains("[+] checksec for") && output.contains("PIE") && output.contains("✓"), "\(output)")
    #expect(output.contains("Pathname: [stack]"), "\(output)")
    #expect(output.contains("registers") && output.contains("code:x86:64"), "context\n\(output)")
    // got: the executable's jump slots, read from the replay (raise has been called: resolved).
    #expect(output.contains("GOT protection: Partial RelRO | GOT functions: 3"), "got\n\(output)")
    #expect(output.range(of: #"\] raise@GLIBC_[0-9.]+ +→ +0x7ffff7"#, options: .regularExpression) != nil, "got\n\(output)")
    #expect(output.contains("Pathname: \(session.work)/reverse_target"), "after reverse-stepi\n\(output)")
    #expect(!output.contains("Failed to get memory layout") && !result.stderr.contains("rewind: gdb ran"), "\(output)")
  }

  /// gdb/MI, as IDEs drive it: a breakpoint, continue, the stack and a frame's variables,
  /// and a reverse step.
  @Test func gdbMIDrivesAReplay() throws {
    let session = try recorded()
    let (server, port) = try session.serve(["-q"])
    guard let port else { return }
    // MI commands come on stdin, one a line, as an IDE sends them.
    let commands = [
      "-target-select remote 127.0.0.1:\(port)", "-interpreter-exec console \"handle SIGUSR1 nostop noprint pass\"",
      "-break-insert scale", "-exec-continue", "-stack-list-frames", "-stack-list-variables --all-values", "-exec-continue",
      "-exec-finish --reverse", "-exec-step --reverse", "-stack-list-variables --all-values", "-gdb-exit",
    ]
    let mi = try Harness.run(
      ["/usr/bin/env", "gdb", "-nx", "-q", "--interpreter=mi2"], stdin: Data((commands.joined(separator: "\n") + "\n").utf8),
      cwd: session.work, timeout: 60)
    let output = mi.stdout
    #expect(output.contains("^done,bkpt={number=\"1\""), "\(mi.summary)")
    #expect(output.contains("*stopped,reason=\"breakpoint-hit\""), "\(mi.summary)")
    #expect(output.contains("frame={level=\"0\",addr=") && output.contains("func=\"scale\"") && output.contains("func=\"main\""), "\(mi.summary)")
    #expect(output.contains("{name=\"value\",arg=\"1\",value=\"0\"}"), "\(mi.summary)")
    // The second hit is scale(1, 2); -exec-finish --reverse goes back to main, at its call.
    #expect(output.contains("{name=\"i\",value=\"1\"}"), "\(mi.summary)")
    #expect(output.components(separatedBy: "*stopped,").count - 1 >= 5, "\(mi.summary)")
    let result = server.finish(timeout: 30)
    #expect(!result.stderr.contains("failed"), "\(result.summary)")
  }
}
