// Orders of events between processes and threads that real programs (git, make -j2, java)
// produce and that once broke replay: each fixture failed before its fix.

import Foundation
import Testing

@Suite(.enabled(if: Harness.hasCompiler, "needs a C compiler: apt-get install gcc"))
struct InterleavingTests {
  /// An execve and its exec event are written together, so another process's event never
  /// lands between them (it did in 2 of 5 recordings before).
  @Test(arguments: 1...5) func execWhileAnotherProcessMakesCalls(run: Int) throws {
    let result = try assertRecordReplay("exec_among_others")
    #expect(result.record.stdout.contains("30 execs done\n"), "\(result.record.summary)")
    #expect(result.record.stdout.contains("busy child made 20000 calls\n"), "\(result.record.summary)")
  }
}
