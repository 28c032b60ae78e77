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

  /// A signal let through only by the mask a waiting call puts in force (make -j2's
  /// SIGCHLD in pselect6): replay emulates the call, so it puts that mask back in force to
  /// deliver the signal; the handler sees it, and the usual mask is back after sigreturn.
  @Test func signalThroughTheMaskOfAWaitingCall() throws {
    let result = try assertRecordReplay("wait_with_mask")
    for call in ["pselect6", "ppoll", "epoll_pwait", "sigsuspend"] {
      #expect(
        result.record.stdout.contains(
          "\(call): -1 EINTR, handler ran 1, SIGUSR2 blocked in handler 1, SIGCHLD blocked after 1\n"),
        "\(result.record.summary)")
    }
  }
}
