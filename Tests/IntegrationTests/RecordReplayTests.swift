// Record each fixture in Tests/Fixtures, replay it without gdb, and compare.

import Foundation
import Testing

@Suite(.enabled(if: Harness.hasCompiler, "needs a C compiler: apt-get install gcc"))
struct RecordReplayTests {
  @Test func fileIO() throws {
    let dir = try Harness.makeWorkDir("file_io-files")
    let result = try assertRecordReplay("file_io", args: [dir])
    #expect(result.record.stdout.contains("entries: alpha.txt gamma.txt\n"))
  }

  /// sendfile and splice move file bytes to stdout without passing through memory.
  @Test func sendfileToStdout() throws {
    let dir = try Harness.makeWorkDir("sendfile-files")
    let result = try assertRecordReplay("sendfile_stdout", args: [dir])
    #expect(result.replay.stdout.hasPrefix("line one, sent with sendfile\nline two, spliced\n"))
  }

  @Test func fileIOUsesTMPDIRByDefault() throws {
    let dir = try Harness.makeWorkDir("file_io-tmpdir")
    try assertRecordReplay("file_io", env: ["TMPDIR": dir])
  }

  /// Clock reads normally go through the vDSO without a system call; they must
  /// still replay as recorded, and so must RDTSC and RDTSCP.
  @Test func clocks() throws {
    let result = try assertRecordReplay("clocks")
    #expect(result.record.stdout.split(separator: "\n").count == 8, "\(result.record.summary)")
  }

  /// Two recordings see different random bytes; each replays its own.
  @Test func randomness() throws {
    let first = try assertRecordReplay("randomness")
    let second = try assertRecordReplay("randomness")
    #expect(first.record.stdout != second.record.stdout, "the fixture should see fresh randomness")
  }

  @Test func environment() throws {
    let result = try assertRecordReplay(
      "environment", args: ["one", "two words"], env: ["REWIND_FIXTURE_VAR": "recorded value"])
    #expect(result.record.stdout.contains("REWIND_FIXTURE_VAR: recorded value\n"))
    #expect(result.record.stdout.contains("argv[2]: two words\n"))
    #expect(result.record.stdout.contains("cwd: \(result.workDir)\n"))
  }

  /// The recorded executable is gone before replay; the trace has its own copy.
  @Test func executableDeletedBeforeReplay() throws {
    try assertRecordReplay("environment") { _, exe in
      try FileManager.default.removeItem(atPath: exe)
    }
  }

  /// A mapped file changed after recording: replay shows the recorded contents, copied in
  /// (10 000 bytes) or mapped from the trace's saved copy (400 000).
  @Test(arguments: [(10_000, 10_000), (100, 10_000), (50_000, 10_000), (100, 400_000), (500_000, 400_000)])
  func mmapFileChangedBeforeReplay(newLength: Int, length: Int) throws {
    let path = try Harness.makeWorkDir("mmap_file-data") + "/mapped.dat"
    let result = try assertRecordReplay("mmap_file", args: [path, String(length)]) { _, _ in
      let replacement = Data(repeating: UInt8(ascii: "Z"), count: newLength)
      try replacement.write(to: URL(fileURLWithPath: path))
    }
    #expect(result.replay.stdout.contains("first bytes: RECORDED:"))
  }

  /// What the program read from stdin comes from the trace: replay gets nothing.
  @Test func stdinEcho() throws {
    let text = "The quick brown fox\njumps over the lazy dog.\n"
    let result = try assertRecordReplay("stdin_echo", stdin: Data(text.utf8))
    #expect(result.record.stdout.contains("length: \(text.utf8.count)\n"))
    #expect(result.record.stdout.contains(text.uppercased()))
  }

  /// Stdin bigger than one read, and a replay given other input it must ignore.
  @Test func stdinEchoLargeInputIgnoresReplayStdin() throws {
    let line = "abcdefghijklmnopqrstuvwxyz0123456789\n"
    let text = String(repeating: line, count: 5_000)
    let result = try assertRecordReplay("stdin_echo", stdin: Data(text.utf8))
    #expect(result.record.stdout.contains("length: \(text.utf8.count)\n"))
    let again = try Harness.replay(result.traceDir, stdin: Data("something else\n".utf8))
    #expect(again.exitedNormally && again.status == 0, "\(again.summary)")
    #expect(again.stdout == result.record.stdout)
  }

  /// A SIGSEGV replays: record exits 128+11, and replaying the crash is faithful.
  @Test func nullCrash() throws {
    let result = try assertRecordReplay("null_crash", expectedStatus: 139, printsExitSuccess: false)
    #expect(result.record.stdout == "about to write through a null pointer\n")
  }

  @Test func abort() throws {
    let result = try assertRecordReplay("abort", expectedStatus: 134, printsExitSuccess: false)
    #expect(result.record.stdout == "about to abort\n")
  }

  /// nil: the fixture's default status, 42.
  @Test(arguments: [nil, 7, 0] as [Int32?])
  func exitCode(status: Int32?) throws {
    let args = status.map { ["\($0)"] } ?? []
    let result = try assertRecordReplay("exit_code", args: args, expectedStatus: status ?? 42)
    #expect(result.record.stderr.contains("exit_code: this line goes to stderr"))
  }

  @Test(arguments: [2_000, 10_000])
  func syscallLoop(iterations: Int) throws {
    let result = try assertRecordReplay("syscall_loop", args: ["\(iterations)"])
    #expect(result.record.stdout.contains("iterations: \(iterations) "))
  }

  @Test func syscallLoopDefaultCount() throws {
    let result = try assertRecordReplay("syscall_loop")
    #expect(result.record.stdout.contains("iterations: 2000 "))
  }

  /// Without -o a recording goes to $REWIND_TRACE_DIR/<exe>-<n>, and
  /// `latest-trace` points at the newest; `rewind replay -a` replays that one.
  @Test func defaultTraceDirectoryAndLatestTrace() throws {
    let work = try Harness.makeWorkDir("default-dir")
    let traceRoot = work + "/traces"
    let exe = try Harness.fixtureCopy("exit_code", in: work)
    let env = ["REWIND_TRACE_DIR": traceRoot]
    let first = try Harness.rewind(["record", exe, "3"], env: env, cwd: work)
    #expect(first.exitedNormally && first.status == 3, "\(first.summary)")
    let second = try Harness.rewind(["record", exe, "5"], env: env, cwd: work)
    #expect(second.exitedNormally && second.status == 5, "\(second.summary)")

    let fm = FileManager.default
    let names = try fm.contentsOfDirectory(atPath: traceRoot)
    let numbers = names.compactMap { name in
      name.hasPrefix("exit_code-") ? Int(name.dropFirst("exit_code-".count)) : nil
    }.sorted()
    try #require(numbers.count == 2, "expected two exit_code-<n> directories in \(names)")
    let latest = try fm.destinationOfSymbolicLink(atPath: traceRoot + "/latest-trace")
    #expect(
      URL(fileURLWithPath: latest, relativeTo: URL(fileURLWithPath: traceRoot + "/")).lastPathComponent
        == "exit_code-\(numbers[1])")

    let replay = try Harness.rewind(["replay", "-a"], env: env)
    #expect(replay.exitedNormally && replay.status == 0, "\(replay.summary)")
    #expect(replay.stdout == second.stdout)
  }

  /// `--quiet` still replays faithfully.
  @Test func quietReplay() throws {
    let result = try assertRecordReplay("exit_code", expectedStatus: 42)
    let quiet = try Harness.replay(result.traceDir, extraArguments: ["--quiet"])
    #expect(quiet.exitedNormally && quiet.status == 0, "\(quiet.summary)")
  }
}
