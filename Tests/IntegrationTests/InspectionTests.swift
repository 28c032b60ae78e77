import Foundation
import Testing

/// `rewind dump`, `stats`, `ls`, `rm` and `pack` on real recordings.
@Suite struct InspectionTests {
  private func dump(_ arguments: [String]) throws -> ProcessResult {
    let result = try Harness.rewind(["dump"] + arguments)
    try #require(result.exitedNormally && result.status == 0, "\(result.summary)")
    return result
  }

  @Test func dumpDecodesKnownCalls() throws {
    let recorded = try assertRecordReplay("dump_subject", expectedStatus: 7)
    let lines = try dump([recorded.traceDir]).stdout.split(separator: "\n").map(String.init)
    let pid = try #require(lines.first?.split(separator: " ").dropFirst().first).dropFirst().dropLast()
    func line(containing text: String) -> String? { lines.first { $0.contains(text) } }
    #expect(line(containing: "] pipe2([3, 4], 0) = 0") != nil, "\(lines.suffix(20))")
    #expect(line(containing: "] write(4, \"hello dump\\n\", 11) = 11") != nil)
    #expect(line(containing: "] read(3, \"hello dump\\n\", 32) = 11") != nil)
    #expect(
      line(containing: "] openat(AT_FDCWD, \"/nonexistent/rewind-dump-subject\", O_RDONLY) = -1 ENOENT (No such file or directory)") != nil)
    #expect(line(containing: "] exit_group(7) = ?") != nil)
    #expect(lines.last?.hasSuffix("[\(pid)] +++ exited with 7 +++") == true, "\(lines.suffix(3))")
    // Numbered from 0, one line per event, in order.
    let numbers = lines.compactMap { Int($0.split(separator: " ").first ?? "") }
    #expect(numbers == Array(0..<numbers.count))
  }

  @Test func dumpFilters() throws {
    let recorded = try assertRecordReplay("fork_pipe_wait")
    let processes = try Harness.ps(recorded.traceDir)
    let child = try #require(processes.dropFirst().first).pid
    let onlyChild = try dump(["--pid", String(child), recorded.traceDir]).stdout.split(separator: "\n")
    #expect(!onlyChild.isEmpty && onlyChild.allSatisfy { $0.contains(" [\(child)] ") }, "\(onlyChild)")
    let writes = try dump(["--syscall", "write,pipe2", recorded.traceDir]).stdout.split(separator: "\n")
    #expect(!writes.isEmpty && writes.allSatisfy { $0.contains("] write(") || $0.contains("] pipe2(") }, "\(writes)")
    let range = try dump(["--from", "5", "--to", "9", recorded.traceDir]).stdout.split(separator: "\n")
    #expect(range.compactMap { Int($0.split(separator: " ")[0]) } == [5, 6, 7, 8, 9])
    let strace = try dump(["--strace", recorded.traceDir]).stdout.split(separator: "\n")
    #expect(strace.allSatisfy { line in line.first?.isNumber == true && line.contains("  ") && !line.contains("rdtsc") })
    let bad = try Harness.rewind(["dump", "--syscall", "notacall", recorded.traceDir])
    #expect(bad.status == 64 && bad.stderr.contains("'notacall' is not an x86-64 system call name"), "\(bad.summary)")
  }

  @Test func dumpJSONAndStatsAgree() throws {
    let recorded = try assertRecordReplay("dump_subject", expectedStatus: 7)
    let json = try dump(["--format", "json", recorded.traceDir]).stdout.split(separator: "\n")
    var writes = 0
    var events = 0
    for line in json {
      let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(line)")
      events += 1
      if object["syscall"] as? String == "write" { writes += 1 }
      #expect(object["event"] is Int && object["pid"] is Int && object["kind"] is String)
    }
    let text = try Harness.rewind(["stats", recorded.traceDir])
    #expect(text.status == 0 && text.stdout.contains("system call"), "\(text.summary)")
    let stats = try Harness.rewind(["stats", "--json", recorded.traceDir])
    let object = try #require(try JSONSerialization.jsonObject(with: Data(stats.stdout.utf8)) as? [String: Any])
    #expect(object["events"] as? Int == events)
    let calls = try #require(object["syscalls"] as? [String: [String: Int]])
    #expect(calls["write"]?["calls"] == writes)
    #expect(calls["openat"]?["errors"] == 1)
    #expect(object["complete"] as? Bool == true)
  }

  @Test func lsAndRm() throws {
    let root = try Harness.makeWorkDir("ls-root")
    let exe = try Harness.fixtureCopy("exit_code", in: root)
    for _ in 0..<2 { _ = try Harness.rewind(["record", exe], env: ["REWIND_TRACE_DIR": root]) }
    let listing = try Harness.rewind(["ls"], env: ["REWIND_TRACE_DIR": root])
    #expect(listing.stdout.contains("exit_code-0") && listing.stdout.contains("exit_code-1"), "\(listing.summary)")
    #expect(listing.stdout.contains("* exit_code-1"), "the latest is marked: \(listing.summary)")
    let refused = try Harness.rewind(["rm", root], env: ["REWIND_TRACE_DIR": root])
    #expect(refused.status == 2 && refused.stderr.contains("not a rewind trace"), "\(refused.summary)")
    #expect(FileManager.default.fileExists(atPath: root + "/exit_code"))
    let removed = try Harness.rewind(["rm", "exit_code-1"], env: ["REWIND_TRACE_DIR": root])
    #expect(removed.status == 0, "\(removed.summary)")
    #expect(!FileManager.default.fileExists(atPath: root + "/exit_code-1"))
    let after = try Harness.rewind(["ls"], env: ["REWIND_TRACE_DIR": root])
    #expect(after.stdout.contains("* exit_code-0") && !after.stdout.contains("exit_code-1"), "\(after.summary)")
  }

  @Test func packThenReplayElsewhere() throws {
    let recorded = try assertRecordReplay("environment")
    let pack = try Harness.rewind(["pack", recorded.traceDir])
    #expect(pack.status == 0 && pack.stdout.contains("packed"), "\(pack.summary)")
    let files = try FileManager.default.contentsOfDirectory(atPath: recorded.traceDir + "/files")
    for name in files {
      var info = stat()
      #expect(lstat(recorded.traceDir + "/files/" + name, &info) == 0 && info.st_nlink == 1, "\(name) is still a hard link")
    }
    let moved = try Harness.makeWorkDir("packed") + "/trace"
    try FileManager.default.copyItem(atPath: recorded.traceDir, toPath: moved)
    try FileManager.default.removeItem(atPath: recorded.traceDir)
    try FileManager.default.removeItem(atPath: recorded.executable)
    let replay = try Harness.replay(moved)
    #expect(replay.exitedNormally && replay.status == 0, "\(replay.summary)")
    #expect(replay.stdout == recorded.record.stdout)
  }
}
