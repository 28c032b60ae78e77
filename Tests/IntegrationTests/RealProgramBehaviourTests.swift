// What real programs (git, make -j2, java, liburing users) do that once broke recording or
// replay, each reduced to a fixture that failed before its fix.

import Foundation
import Testing

@Suite(.enabled(if: Harness.hasCompiler, "needs a C compiler: apt-get install gcc"))
struct RealProgramBehaviourTests {
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

  /// Threads woken just before an exit_group (java's exit): recording lets none of them run
  /// on after its entry, so nothing but their exits follows it in the trace (under load, 1
  /// recording in 20 had their gettid and futex calls there, and replay hung on them).
  @Test(arguments: 1...5) func threadsWokenRightBeforeExitGroup(run: Int) throws {
    let result = try assertRecordReplay("exit_group_busy_threads", printsExitSuccess: false)
    #expect(result.replay.stdout == "waking four threads and exiting\n", "\(result.replay.summary)")
    let dump = try Harness.rewind(["dump", result.traceDir])
    let lines = dump.stdout.split(separator: "\n")
    let exitGroup = try #require(lines.firstIndex { $0.contains("exit_group(") }, "\(dump.stdout)")
    let after = lines[(exitGroup + 1)...].filter { !$0.contains("+++ exited") }
    #expect(after.isEmpty, "events after the exit_group: \(after)")
  }

  /// io_uring_setup fails with ENOSYS while recording, and the program's fallback to read()
  /// records and replays (recording refused the program before).
  @Test func ioUringFallsBackToRead() throws {
    let result = try assertRecordReplay("io_uring_fallback")
    #expect(result.record.stdout.contains("io_uring_setup: Function not implemented\n"), "\(result.record.summary)")
    #expect(result.record.stdout.contains("read by the fallback: 7f ELF\n"), "\(result.record.summary)")
  }

  /// A process with three threads: an exec that fails leaves them running; an exec from the
  /// main thread, or from another one (which the kernel gives the process's pid), kills them,
  /// in replay as while recording (recording refused both before).
  @Test(arguments: ["main", "thread"], 1...3) func execFromAThreadedProcess(execer: String, run: Int) throws {
    let result = try assertRecordReplay("exec_with_threads", args: execer == "main" ? [] : ["thread"])
    #expect(result.record.stdout.contains("a failed exec leaves the threads running\n"), "\(result.record.summary)")
    let which = execer == "main" ? "main" : "other"
    #expect(
      result.record.stdout.contains("after exec from the \(which) thread: pid set, tid equals pid 1\n"),
      "\(result.record.summary)")
    let processes = try Harness.ps(result.traceDir)
    #expect(processes.count == 1, "one process, whichever thread exec'd: \(processes)")
  }

  /// Recorded from a shell that ignores SIGINT and SIGQUIT (a background job's, as when
  /// make -j2 ran under a script), replayed from one that does not: replay starts the program
  /// with the recorded ignored signals (make's sigaction calls diverged before).
  @Test func ignoredSignalsInheritedAtStart() throws {
    let work = try Harness.makeWorkDir("inherited_ignores")
    let exe = try Harness.fixtureCopy("inherited_ignores", in: work)
    let trace = work + "/trace"
    let record = try Harness.run(
      ["/bin/sh", "-c", "trap '' INT QUIT; exec \"$0\" record -o \"$1\" \"$2\"", try Harness.rewindPath(), trace, exe],
      env: ["REWIND_TRACE_DIR": work + "/traces"], cwd: work)
    try #require(record.exitedNormally && record.status == 0, "\(record.summary)")
    #expect(
      record.stdout == "SIGINT ignored\nSIGQUIT ignored\nSIGTERM default\nSIGHUP default\nEXIT-SUCCESS\n",
      "\(record.summary)")
    let replay = try Harness.replay(trace)
    #expect(replay.exitedNormally && replay.status == 0, "\(replay.summary)")
    #expect(replay.stdout == record.stdout, "\(replay.summary)")
  }
}
