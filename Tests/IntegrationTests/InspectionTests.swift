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

extension InspectionTests {
  /// `rewind dump --strace -v -s 65535` against what `strace -f -v -s 65535` prints for the
  /// same command (ASLR off, as rewind records; the same environment and stdout), call by
  /// call after pids, addresses, access times and random bytes are set aside. Returns the
  /// lines strace printed and the differences, each prefixed by who printed it.
  private func conformance(_ command: [String], in work: String) throws -> (lines: Int, differences: [String]) {
    let log = work + "/strace.txt"
    let trace = work + "/trace"
    let clean = ["env", "-i", "PATH=/usr/bin:/bin", "LANG=C"]
    func shell(_ words: [String]) -> [String] { ["/bin/sh", "-c", "exec " + words.map { "'\($0)'" }.joined(separator: " ") + " >/dev/null"] }
    _ = try Harness.run(shell(clean + ["setarch", "-R", "strace", "-f", "-v", "-s", "65535", "-o", log] + command), cwd: work)
    _ = try Harness.run(shell(clean + [try Harness.rewindPath(), "record", "-o", trace] + command), cwd: work)
    let dumped = try dump(["--strace", "-v", "-s", "65535", trace]).stdout
    func normalized(_ text: String) -> [String] {
      text.split(separator: "\n").filter { !$0.contains("+++") && !$0.contains("---") }.map { line in
        var line = String(line).replacingOccurrences(of: #"^\d+\s+"#, with: "", options: .regularExpression)
        for (pattern, replacement) in [
          (#"\s+= "#, " = "), (#"0x[0-9a-f]{6,}"#, "ADDRESS"), (#"st_atime=\d+ /\* [^*]*\*/, st_atime_nsec=\d+"#, "st_atime=TIME"),
          (#"stx_atime=\{[^}]*\} /\* [^*]*\*/"#, "stx_atime=TIME"), (#"getrandom\("[^"]*""#, "getrandom(BYTES"),
          (#"set_tid_address\(ADDRESS\) = \d+"#, "set_tid_address(ADDRESS) = TID"),
          // Recordings hard-link the system files they map: libc's link count and change time
          // move from run to run (any test recording anything moves them).
          (#"st_nlink=\d+"#, "st_nlink=N"), (#"st_ctime=\d+ /\* [^*]*\*/, st_ctime_nsec=\d+"#, "st_ctime=TIME"),
        ] {
          line = line.replacingOccurrences(of: pattern, with: replacement, options: .regularExpression)
        }
        return line
      }
    }
    let expected = normalized(try String(contentsOfFile: log, encoding: .utf8))
    let difference = normalized(dumped).difference(from: expected)
    return (
      expected.count,
      difference.map { change in
        switch change {
        case .remove(_, let line, _): return "strace: " + line
        case .insert(_, let line, _): return "rewind: " + line
        }
      }
    )
  }

  /// What differs is rewind's doing: rseq fails with ENOSYS under rewind, and glibc then lays
  /// out its thread area differently; rewind also lists the clock reads strace cannot see.
  private static func isRewindsOwn(_ difference: String) -> Bool {
    let line = difference.drop { $0 != " " }.dropFirst()
    let threadArea = line.hasPrefix("mmap(NULL, ") && line.contains(", PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = ")
    return line.hasPrefix("rseq(") || threadArea || (difference.hasPrefix("rewind: ") && line.hasPrefix("clock_gettime("))
  }

  @Test(.enabled(if: Harness.which("strace") != nil && Harness.which("setarch") != nil, "needs strace and setarch"))
  func dumpPrintsWhatStracePrints() throws {
    let work = try Harness.makeWorkDir("strace-conformance")
    let exe = try Harness.fixtureCopy("dump_subject", in: work)
    let (lines, differences) = try conformance([exe], in: work)
    #expect(lines > 30 && differences.allSatisfy(Self.isRewindsOwn), "of \(lines) lines:\n\(differences.joined(separator: "\n"))")
  }

  /// `ls -la` of a directory nothing writes to while the two runs list it: statx in full,
  /// getdents64's entries, the locale and NSS files ls opens.
  @Test(.enabled(if: Harness.which("strace") != nil && Harness.which("setarch") != nil, "needs strace and setarch"))
  func dumpOfLsPrintsWhatStracePrints() throws {
    let work = try Harness.makeWorkDir("strace-conformance-ls")
    // Its parent too: the runs write their logs and the trace beside it, in `work`.
    let listed = work + "/quiet/listed"
    try FileManager.default.createDirectory(atPath: listed + "/sub", withIntermediateDirectories: true)
    try Data("some text\n".utf8).write(to: URL(fileURLWithPath: listed + "/file.txt"))
    try FileManager.default.createSymbolicLink(atPath: listed + "/link", withDestinationPath: "file.txt")
    let (lines, differences) = try conformance(["/bin/ls", "-la", listed], in: work)
    let identical = lines - differences.filter { $0.hasPrefix("strace: ") }.count
    #expect(lines > 100 && differences.allSatisfy(Self.isRewindsOwn), "\(identical) of \(lines) lines identical:\n\(differences.joined(separator: "\n"))")
  }
}
