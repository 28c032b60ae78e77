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
}
