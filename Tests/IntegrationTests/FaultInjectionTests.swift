// Fault injection: `rewind record --inject` (strace's syntax, live) and `rewind inject`
// (from a recording). Fixture copy_file.c copies a file in 4096-byte chunks, carefully
// or (--careless) ignoring what write returns.

import Foundation
import Testing

@Suite struct FaultInjectionTests {
  /// A 20,000-byte file of known bytes in `work`: five chunks for copy_file.
  static func sourceFile(in work: String) throws -> String {
    let path = work + "/src.bin"
    try Data((0..<20_000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 / 251) }).write(to: URL(fileURLWithPath: path))
    return path
  }

  /// The third write fails with ENOSPC: the careful copier says so, removes its output and
  /// exits 1; the trace marks that call `(INJECTED)`, and replays.
  @Test func recordInjectsAnErrorTheProgramHandles() throws {
    let work = try Harness.makeWorkDir("record-inject")
    let copier = try Harness.fixtureCopy("copy_file", in: work)
    let source = try Self.sourceFile(in: work)
    let result = try assertRecordReplayCommand(
      "record-inject", ["--inject=write:error=ENOSPC:when=3", copier, source, work + "/dst.bin"], work: work,
      expectedStatus: 1, printsExitSuccess: false)
    #expect(result.record.stderr.contains("copy_file: writing \(work)/dst.bin: No space left on device"), "\(result.record.summary)")
    #expect(!FileManager.default.fileExists(atPath: work + "/dst.bin"))
    let dump = try Harness.rewind(["dump", result.traceDir])
    let injected = dump.stdout.split(separator: "\n").filter { $0.hasSuffix("(INJECTED)") }
    #expect(injected.count == 1, "\(dump.stdout)")
    #expect(injected.first?.contains("write(4, ") == true && injected.first?.contains("= -1 ENOSPC (No space left on device) (INJECTED)") == true, "\(injected)")
    // The two writes before it ran and returned their count.
    let writes = dump.stdout.split(separator: "\n").filter { $0.contains("] write(4, ") }
    #expect(writes.count == 3 && writes.prefix(2).allSatisfy { $0.hasSuffix("= 4096") }, "\(writes)")
  }

  /// retval= and when=N+: every read from the third on (the loader's read of libc's header
  /// is the first, as strace counts) returns 0 (end of file), so the copier stops after one
  /// chunk and believes it succeeded.
  @Test func recordInjectsAValueFromTheNthCallOn() throws {
    let work = try Harness.makeWorkDir("record-inject-retval")
    let copier = try Harness.fixtureCopy("copy_file", in: work)
    let source = try Self.sourceFile(in: work)
    let result = try assertRecordReplayCommand(
      "record-inject-retval", ["--inject=read:retval=0:when=3+", copier, source, work + "/dst.bin"], work: work)
    #expect(result.record.stdout.contains("copied 4096 bytes"), "\(result.record.summary)")
    let copied = try Data(contentsOf: URL(fileURLWithPath: work + "/dst.bin"))
    #expect(copied.count == 4096)
  }

  /// Rules rewind cannot apply are refused before anything runs, naming what is wrong.
  @Test func recordRefusesBadRules() throws {
    let work = try Harness.makeWorkDir("record-inject-bad")
    let cases: [(String, String)] = [
      ("nosuchcall:error=EIO", "'nosuchcall'"),
      ("write:error=EFOO", "'EFOO' is not an errno name"),
      ("write:error=EIO:when=0", "when=0"),
      ("exit_group:error=EIO", "exit_group never returns"),
      ("write", "add :error=ERRNO or :retval=N"),
      ("write:retval=-5", "for errors, error=NAME"),
      ("write:error=EIO:delay_enter=10", "'delay_enter='"),
    ]
    for (rule, message) in cases {
      let result = try Harness.rewind(["record", "-o", work + "/t", "--inject=" + rule, "/bin/true"], cwd: work)
      #expect(result.exitedNormally && result.status == 64, "\(rule): \(result.summary)")
      #expect(result.stderr.contains(message), "\(rule): \(result.summary)")
      #expect(!FileManager.default.fileExists(atPath: work + "/t"), "\(rule): no trace may be started")
    }
  }

  /// Records `copy_file [--careless] src dst` in a new work directory.
  static func recordCopy(_ label: String, careless: Bool = false) throws -> (work: String, trace: String, source: [UInt8]) {
    let work = try Harness.makeWorkDir(label)
    let copier = try Harness.fixtureCopy("copy_file", in: work)
    let source = try sourceFile(in: work)
    let trace = work + "/trace"
    let record = try Harness.rewind(["record", "-o", trace, copier] + (careless ? ["--careless"] : []) + [source, work + "/dst.bin"], cwd: work)
    try #require(record.exitedNormally && record.status == 0, "\(record.summary)")
    return (work, trace, Array(try Data(contentsOf: URL(fileURLWithPath: source))))
  }

  /// Records `fixture` given the path of a file holding "hello\n", in a new work folder.
  static func recordReadingAFile(_ fixture: String, _ label: String) throws -> (work: String, trace: String, recorded: ProcessResult) {
    let work = try Harness.makeWorkDir(label)
    let program = try Harness.fixtureCopy(fixture, in: work)
    let input = work + "/input.txt"
    try Data("hello\n".utf8).write(to: URL(fileURLWithPath: input))
    let trace = work + "/trace"
    return (work, trace, try Harness.rewind(["record", "-o", trace, program, input], cwd: work))
  }

  static func jsonObject(_ text: String) throws -> [String: Any] {
    try #require(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "not one JSON object: \(text)")
  }

  /// From a recording of a copy that succeeded: the third write fails with ENOSPC. The
  /// program notices at once (it reports the error instead of reading on), goes live with
  /// its files opened again where they were, says what failed, removes its output and
  /// exits 1.
  @Test func injectedErrorIsNoticedAndTheProgramGoesLive() throws {
    let (work, trace, _) = try Self.recordCopy("inject-enospc")
    let result = try Harness.rewind(["inject", "--syscall", "write", "--nth", "3", "--errno", "ENOSPC", trace], cwd: work)
    #expect(result.exitedNormally && result.status == 0, "\(result.summary)")
    let out = result.stdout
    #expect(out.contains("= -1 ENOSPC (No space left on device) (INJECTED)"), "\(result.summary)")
    #expect(out.contains("followed the recording for 0 calls after it"), "\(result.summary)")
    #expect(out.contains("noticed at event"), "\(result.summary)")
    #expect(out.contains("opened again: fd 3: \(work)/src.bin at offset 12288"), "\(result.summary)")
    #expect(out.contains("opened again: fd 4: \(work)/dst.bin at offset 8192"), "\(result.summary)")
    #expect(out.contains("] write(2, \"copy_file: writing "), "\(result.summary)")
    #expect(out.contains("unlink(\"\(work)/dst.bin\") = 0"), "\(result.summary)")
    #expect(out.contains("ended: exited with status 1"), "\(result.summary)")
    #expect(out.contains("reaction: exited non-zero"), "\(result.summary)")
    // The live program's message reached stderr, and it removed the real output file.
    #expect(result.stderr.contains("copy_file: writing \(work)/dst.bin: No space left on device"), "\(result.summary)")
    #expect(!FileManager.default.fileExists(atPath: work + "/dst.bin"))
  }

  /// The injected run is a trace of its own: the recording up to where the program noticed
  /// (the injected result in it), then the live part as recorded. It replays faithfully,
  /// `dump` lists the injected call and the live calls, and `--debug` opens gdb at the
  /// injected call, from where the live part runs forwards and comes back backwards, on into
  /// the recording before the call.
  @Test func theInjectedRunIsATraceThatReplaysAndDebugs() throws {
    let (work, trace, _) = try Self.recordCopy("inject-trace")
    let injected = work + "/injected"
    let result = try Harness.rewind(["inject", "--syscall", "write", "--nth", "3", "--errno", "ENOSPC", "-o", injected, trace], cwd: work)
    #expect(result.exitedNormally && result.status == 0, "\(result.summary)")
    #expect(result.stdout.contains("the injected run's trace: \(injected) "), "\(result.summary)")
    let replay = try Harness.rewind(["replay", "-a", injected], cwd: work)
    #expect(replay.exitedNormally && replay.status == 0, "\(replay.summary)")
    #expect(replay.stderr.contains("copy_file: writing \(work)/dst.bin: No space left on device"), "\(replay.summary)")
    let dump = try Harness.rewind(["dump", injected], cwd: work)
    let lines = dump.stdout.split(separator: "\n").map(String.init)
    let at = try #require(lines.firstIndex { $0.contains("= -1 ENOSPC (No space left on device) (INJECTED)") }, "\(dump.stdout)")
    #expect(lines[(at + 1)...].contains { $0.contains("] write(2, \"copy_file: writing ") }, "\(dump.stdout)")
    #expect(lines[(at + 1)...].contains { $0.contains("] unlink(\"\(work)/dst.bin\") = 0") }, "\(dump.stdout)")
    #expect(lines.last?.contains("+++ exited with 1 +++") == true, "\(dump.stdout)")
    // gdb at the injected call: its result, forwards to the live unlink, back to the call.
    let event = try #require(lines[at].split(separator: " ").first.map(String.init))
    let debug = try Harness.rewind(
      ["inject", "--at", event, "--errno", "ENOSPC", "--debug", "-o", work + "/debugged", trace, "--", "-batch",
       "-ex", "print $rip", "-ex", "catch syscall write unlink", "-ex", "continue", "-ex", "continue", "-ex", "print $rax",
       "-ex", "continue", "-ex", "continue", "-ex", "continue", "-ex", "reverse-continue", "-ex", "reverse-continue",
       "-ex", "reverse-continue", "-ex", "print $rax", "-ex", "reverse-continue", "-ex", "reverse-continue", "-ex", "print $rax"], cwd: work)
    #expect(debug.exitedNormally && debug.status == 0, "\(debug.summary)")
    let output = debug.stdout + debug.stderr
    #expect(output.contains("Catchpoint 1 (returned from syscall write)"), "\(debug.summary)")
    #expect(output.contains("Catchpoint 1 (call to syscall unlink)"), "\(debug.summary)")
    let printed = output.split(separator: "\n").filter { $0.hasPrefix("$") }.map { $0.split(separator: " = ").last.map(String.init) ?? "" }
    // The injected write's result, seen going forwards and again coming back; before it, the
    // recording's second write, which wrote its 4096 bytes.
    #expect(printed.count == 4 && printed[1] == "-28" && printed[2] == "-28" && printed[3] == "4096", "\(debug.summary)")
  }

  /// A process with two threads goes live as a whole and is recorded: the injected open
  /// fails, main says so and stops its worker; the new trace replays both threads to the
  /// end, and the worker's exit is in it after the injected call.
  @Test func aMultiThreadedLivePartIsRecorded() throws {
    let (work, trace, recorded) = try Self.recordReadingAFile("thread_then_open", "inject-threads")
    try #require(recorded.status == 0 && recorded.stdout.contains("worker ticked yes"), "\(recorded.summary)")
    let injected = work + "/injected"
    let result = try Harness.rewind(["inject", "--syscall", "openat", "--nth", "3", "--errno", "EACCES", "-o", injected, trace], cwd: work)
    #expect(result.status == 0 && result.stdout.contains("ended: exited with status 2"), "\(result.summary)")
    #expect(result.stdout.contains("the injected run's trace: \(injected) "), "\(result.summary)")
    let replay = try Harness.rewind(["replay", "-a", injected], cwd: work)
    #expect(replay.status == 0 && replay.stdout.contains("worker ticked yes"), "\(replay.summary)")
    #expect(replay.stderr.contains("open: Permission denied"), "\(replay.summary)")
    let lines = try Harness.rewind(["dump", injected], cwd: work).stdout.split(separator: "\n")
    let at = try #require(lines.firstIndex { $0.contains("input.txt") && $0.contains("(INJECTED)") }, "\(lines)")
    #expect(lines[(at + 1)...].contains { $0.contains("] exit(0) = ?") }, "\(lines)")
    #expect(lines.last?.contains("+++ exited with 2 +++") == true, "\(lines)")
  }

  /// The careless copier ignores a short write: it makes every recorded call to the end,
  /// and the report shows the corrupted copy it would have left.
  @Test func ignoredShortWriteIsNotNoticedAndTheCorruptCopyIsShown() throws {
    let (work, trace, source) = try Self.recordCopy("inject-short", careless: true)
    let result = try Harness.rewind(
      ["inject", "--syscall", "write", "--nth", "2", "--anomaly", "short:10", "--format", "json", "-o", work + "/out", trace], cwd: work)
    #expect(result.exitedNormally && result.status == 0, "\(result.summary)")
    let report = try Self.jsonObject(result.stdout)
    #expect(report["reaction"] as? String == "did not notice", "\(result.stdout)")
    #expect((report["injected"] as? String)?.hasSuffix("= 10 (INJECTED)") == true, "\(result.stdout)")
    #expect((report["followedCalls"] as? [String])?.count ?? 0 >= 6, "\(result.stdout)")
    let files = try #require(report["changedFiles"] as? [[String: Any]], "\(result.stdout)")
    try #require(files.count == 1, "\(result.stdout)")
    #expect(files[0]["path"] as? String == work + "/dst.bin")
    #expect(files[0]["recordedBytes"] as? Int == 20_000)
    #expect(files[0]["injectedBytes"] as? Int == 20_000 - 4086)
    #expect(files[0]["firstDifference"] as? Int == 4106)
    let saved = try Data(contentsOf: URL(fileURLWithPath: try #require(files[0]["savedAs"] as? String)))
    let expected = Array(source[0..<4106]) + Array(source[8192...])
    #expect(Array(saved) == expected, "the copy must be the first chunk, 10 bytes of the second, then the rest")
  }

  /// Every call that can fail with ENOSPC, one run each: the careful copier's output writes
  /// and its creating open make it exit non-zero; the final message to stdout fails
  /// unnoticed (printf's status is not checked). Opens without O_CREAT are no opportunity.
  @Test func campaignRunsEveryOpportunity() throws {
    let (work, trace, _) = try Self.recordCopy("inject-campaign")
    let result = try Harness.rewind(["inject", "--campaign", "enospc", "--format", "json", "--timeout", "20", trace], cwd: work)
    #expect(result.exitedNormally && result.status == 0, "\(result.summary)")
    let rows = try result.stdout.split(separator: "\n").map { try Self.jsonObject(String($0)) }
    let toCopy = rows.filter { ($0["text"] as? String)?.hasPrefix("write(4, ") == true }
    let toStdout = rows.filter { ($0["text"] as? String)?.hasPrefix("write(1, ") == true }
    let creating = rows.filter { ($0["text"] as? String)?.contains("O_CREAT") == true }
    #expect(toCopy.count == 5 && toStdout.count == 1 && creating.count == 1 && rows.count == 7, "\(result.stdout)")
    #expect(creating.first?["reaction"] as? String == "exited non-zero", "\(result.stdout)")
    for row in toCopy { #expect(row["reaction"] as? String == "exited non-zero", "\(row)") }
    #expect(toStdout.first?["reaction"] as? String == "did not notice", "\(result.stdout)")
  }

  /// `--list` names the anomalies each call can take; requests that cannot be met exit 64
  /// with a message naming what is wrong.
  @Test func listAndBadRequests() throws {
    let (work, trace, _) = try Self.recordCopy("inject-list")
    let list = try Harness.rewind(["inject", "--list", trace], cwd: work)
    #expect(list.exitedNormally && list.status == 0, "\(list.summary)")
    #expect(list.stdout.split(separator: "\n").contains { $0.contains("] write(4, ") && $0.hasSuffix("[errno, short, eintr, eagain, enospc]") }, "\(list.stdout)")
    #expect(list.stdout.split(separator: "\n").contains { $0.contains("] newfstatat(") && $0.hasSuffix("[errno, filetype]") }, "\(list.stdout)")
    let cases: [([String], String)] = [
      (["--at", "999999", "--errno", "EIO"], "the trace has no event 999999"),
      (["--at", "1", "--errno", "EIO"], "event 1 is not a system call"),
      (["--at", "5", "--errno", "EFOO"], "'EFOO' is not an errno name"),
      (["--syscall", "write", "--anomaly", "filetype:fifo"], "filetype fits"),
      (["--syscall", "write", "--anomaly", "bogus"], "'bogus' is not an anomaly"),
      (["--syscall", "write", "--pid", "99999", "--errno", "EIO"], "no process 99999"),
      (["--syscall", "write", "--nth", "50", "--errno", "EIO"], "not 50"),
      (["--syscall", "write"], "--errno NAME or --anomaly"),
      (["--syscall", "exit_group", "--errno", "EIO"], "never returns"),
    ]
    for (arguments, message) in cases {
      let result = try Harness.rewind(["inject"] + arguments + [trace], cwd: work)
      #expect(result.exitedNormally && result.status == 64, "\(arguments): \(result.summary)")
      #expect(result.stderr.contains(message), "\(arguments): \(result.summary)")
    }
  }

  /// stat says the file is a directory (the program refuses it and exits 2) or a FIFO (it
  /// waits for a writer for ever: reported as hung once the timeout passes, and killed).
  @Test func statFileTypeAnomalies() throws {
    let work = try Harness.makeWorkDir("inject-filetype")
    let program = try Harness.fixtureCopy("stat_kind", in: work)
    let source = try Self.sourceFile(in: work)
    let trace = work + "/trace"
    let record = try Harness.rewind(["record", "-o", trace, program, source], cwd: work)
    try #require(record.exitedNormally && record.status == 0, "\(record.summary)")
    // The program's stat of its argument (the loader's of ld.so.cache and libc come first).
    let dump = try Harness.rewind(["dump", "--syscall", "newfstatat", trace])
    let line = try #require(dump.stdout.split(separator: "\n").first { $0.contains("src.bin") }, "\(dump.summary)")
    let event = String(try #require(line.split(separator: " ").first))
    let directory = try Harness.rewind(["inject", "--at", event, "--anomaly", "filetype:dir", trace], cwd: work)
    #expect(directory.stdout.contains("S_IFDIR|0644"), "\(directory.summary)")
    #expect(directory.stdout.contains("ended: exited with status 2"), "\(directory.summary)")
    #expect(directory.stderr.contains("is a directory"), "\(directory.summary)")
    let fifo = try Harness.rewind(["inject", "--at", event, "--anomaly", "filetype:fifo", "--timeout", "2", trace], cwd: work)
    #expect(fifo.stdout.contains("reaction: hung"), "\(fifo.summary)")
    #expect(fifo.stdout.contains("in pause"), "what the thread was doing when it was killed\n\(fifo.summary)")
  }

  /// The second monotonic clock read goes back an hour: the program computes a negative
  /// duration, notices (it writes a complaint instead of its result) and exits 5.
  @Test func clockGoingBackwards() throws {
    let work = try Harness.makeWorkDir("inject-clock")
    let program = try Harness.fixtureCopy("durations", in: work)
    let record = try Harness.rewind(["record", "-o", work + "/trace", program], cwd: work)
    try #require(record.exitedNormally && record.status == 0, "\(record.summary)")
    let result = try Harness.rewind(["inject", "--syscall", "clock_gettime", "--nth", "2", "--anomaly", "clock:-3600", work + "/trace"], cwd: work)
    #expect(result.exitedNormally && result.status == 0, "\(result.summary)")
    #expect(result.stdout.contains("noticed at event"), "\(result.summary)")
    #expect(result.stdout.contains("ended: exited with status 5"), "\(result.summary)")
    #expect(result.stderr.contains("the clock went backwards"), "\(result.summary)")
  }
}

extension FaultInjectionTests {
  /// A program that never checks fopen: the open made to fail, it crashes in libc, called
  /// from its own function; the report names where, by function and source line.
  @Test func aCrashIsReportedByFunctionAndLine() throws {
    let (work, trace, recorded) = try Self.recordReadingAFile("unchecked_open", "inject-crash")
    #expect(recorded.status == 0 && recorded.stdout.contains("first line: hello"), "\(recorded.summary)")
    let listed = try Harness.rewind(["inject", "--list", trace], cwd: work)
    let open = try #require(
      listed.stdout.split(separator: "\n").first { $0.contains("openat") && $0.contains("input.txt") }, "\(listed.summary)")
    let event = try #require(open.split(separator: " ").compactMap { Int($0) }.first, "\(open)")
    let result = try Harness.rewind(["inject", "--at", String(event), "--errno", "ENOENT", trace], cwd: work)
    #expect(result.status == 0, "\(result.summary)")
    #expect(result.stdout.contains("ended: killed by SIGSEGV at rip 0x"), "\(result.summary)")
    #expect(result.stdout.contains("read_first_line (unchecked_open.c:9)"), "\(result.summary)")
    #expect(result.stdout.contains("called from main (unchecked_open.c:15)"), "\(result.summary)")
  }
}

extension FaultInjectionTests {
  /// A move whose rename fails with EXDEV (as across file systems): the program falls back
  /// to copy and unlink, live; the destination then holds the source's bytes and the source
  /// is gone. The reaction is "noticed and handled".
  @Test func renameAcrossFileSystemsFallsBackToACopy() throws {
    let work = try Harness.makeWorkDir("inject-exdev")
    let mover = try Harness.fixtureCopy("move_file", in: work)
    let bytes = Data((0..<10_000).map { UInt8(truncatingIfNeeded: $0 * 13) })
    let (source, destination) = (work + "/a.bin", work + "/b.bin")
    try bytes.write(to: URL(fileURLWithPath: source))
    let trace = work + "/trace"
    let recorded = try Harness.rewind(["record", "-o", trace, mover, source, destination], cwd: work)
    try #require(recorded.status == 0 && recorded.stdout.contains("renamed"), "\(recorded.summary)")
    // The recording moved it: put the source back, as it was when the rename ran.
    try FileManager.default.removeItem(atPath: destination)
    try bytes.write(to: URL(fileURLWithPath: source))
    let result = try Harness.rewind(["inject", "--syscall", "rename", "--anomaly", "exdev", trace], cwd: work)
    #expect(result.status == 0, "\(result.summary)")
    #expect(result.stdout.contains("= -1 EXDEV (Invalid cross-device link) (INJECTED)"), "\(result.summary)")
    #expect(result.stdout.contains("unlink(\"\(source)\") = 0"), "\(result.summary)")
    #expect(result.stdout.contains("reaction: noticed and handled"), "\(result.summary)")
    #expect(result.stderr.contains("copied across file systems"), "\(result.summary)")
    #expect(try Data(contentsOf: URL(fileURLWithPath: destination)) == bytes)
    #expect(!FileManager.default.fileExists(atPath: source))
  }

  /// EINTR on a read: the program that installed its handler without SA_RESTART reads again
  /// and finishes with the same sum ("noticed and handled"); the one that counted on
  /// SA_RESTART treats it as fatal ("exited non-zero").
  @Test(arguments: [("careful", "noticed and handled"), ("restart", "exited non-zero")])
  func anInterruptedRead(mode: String, reaction: String) throws {
    let work = try Harness.makeWorkDir("inject-eintr-\(mode)")
    let reader = try Harness.fixtureCopy("read_interrupted", in: work)
    let input = work + "/input.bin"
    try Data((0..<100).map { UInt8($0) }).write(to: URL(fileURLWithPath: input))
    let trace = work + "/trace"
    let recorded = try Harness.rewind(["record", "-o", trace, reader, mode, input], cwd: work)
    try #require(recorded.status == 0 && recorded.stdout.contains("sum 4950"), "\(recorded.summary)")
    let result = try Harness.rewind(["inject", "--syscall", "read", "--nth", "3", "--anomaly", "eintr", trace], cwd: work)
    #expect(result.status == 0, "\(result.summary)")
    #expect(result.stdout.contains("= -1 EINTR (Interrupted system call) (INJECTED)"), "\(result.summary)")
    #expect(result.stdout.contains("reaction: \(reaction)"), "\(result.summary)")
    if mode == "careful" {
      #expect(result.stderr.contains("sum 4950"), "\(result.summary)")
    } else {
      #expect(result.stderr.contains("read_interrupted: read: Interrupted system call"), "\(result.summary)")
    }
  }
}

extension FaultInjectionTests {
  /// A server whose accept fails with EMFILE (out of descriptors): it says so and gives up
  /// (exit 3, "exited non-zero"); the recording itself served its client.
  @Test func aServerWhoseAcceptRunsOutOfDescriptors() throws {
    let work = try Harness.makeWorkDir("inject-emfile")
    let server = try Harness.fixtureCopy("accept_server", in: work)
    let trace = work + "/trace"
    let recorded = try Harness.rewind(["record", "-o", trace, server], cwd: work)
    try #require(recorded.status == 0 && recorded.stdout.contains("served: child satisfied"), "\(recorded.summary)")
    let result = try Harness.rewind(["inject", "--syscall", "accept", "--errno", "EMFILE", "--timeout", "10", trace], cwd: work)
    #expect(result.status == 0, "\(result.summary)")
    #expect(result.stdout.contains("= -1 EMFILE (Too many open files) (INJECTED)"), "\(result.summary)")
    #expect(result.stdout.contains("ended: exited with status 3"), "\(result.summary)")
    #expect(result.stdout.contains("reaction: exited non-zero"), "\(result.summary)")
    #expect(result.stderr.contains("accept_server: accept: Too many open files; not serving"), "\(result.summary)")
  }
}
