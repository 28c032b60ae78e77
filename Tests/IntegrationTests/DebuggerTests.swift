// `rewind replay` as a debugger: the real gdb, in batch mode, against
// `rewind replay -s 0` serving a recorded fixture (debug_target.c; its lines 10,
// 16 and 24 are named below). Each test reads what gdb printed.

import Foundation
import Testing

/// A recording of debug_target, and gdb sessions against its replay.
struct DebugSession {
  let trace: String
  let work: String

  /// Records debug_target with `args`.
  static func record(_ args: [String] = [], expectedStatus: Int32 = 0) throws -> DebugSession {
    try recordFixture("debug_target", args: args, expectedStatus: expectedStatus)
  }

  /// Records fixture `name` with `args`, which must exit with `expectedStatus`.
  static func recordFixture(_ name: String, args: [String] = [], expectedStatus: Int32 = 0) throws -> DebugSession {
    let work = try Harness.makeWorkDir("debug-" + name)
    let exe = try Harness.fixtureCopy(name, in: work)
    let trace = work + "/trace"
    let record = try Harness.rewind(["record", "-o", trace, exe] + args, env: ["REWIND_TRACE_DIR": work + "/traces"], cwd: work)
    try #require(record.exitedNormally && record.status == expectedStatus, "\(record.summary)")
    return DebugSession(trace: trace, work: work)
  }

  /// Serves the replay with `rewind replay -s 0 [replayArguments]`, runs gdb with
  /// `commands` against it, and returns what gdb printed (stdout and stderr) and what
  /// rewind printed.
  func gdb(_ commands: [String], replayArguments: [String] = []) throws -> (gdb: String, rewind: ProcessResult) {
    let (server, port) = try serve(replayArguments)
    guard let port else { return ("", server.finish(timeout: 5)) }
    let gdb = try Harness.run(
      ["/usr/bin/env", "gdb", "-nx", "-batch", "-ex", "set pagination off", "-ex", "target remote 127.0.0.1:\(port)"]
        + commands.flatMap { ["-ex", $0] }, cwd: work, timeout: 60)
    #expect(!gdb.timedOut, "gdb timed out\n\(gdb.summary)")
    let rewind = server.finish(timeout: 30)
    return (gdb.stdout + gdb.stderr, rewind)
  }

  /// Starts `rewind replay -s 0 [replayArguments]` and reads the port it serves on (nil,
  /// with an issue recorded, when it never says).
  func serve(_ replayArguments: [String] = []) throws -> (server: BackgroundProcess, port: UInt16?) {
    let server = try Harness.start(
      [try Harness.rewindPath(), "replay", "-s", "0"] + replayArguments + [trace], env: ["REWIND_TRACE_DIR": work + "/traces"],
      cwd: work)
    let line = server.waitForLine(startingWith: "rewind: serving ", timeout: 30)
    let address = line?.split(separator: " ").first { $0.hasPrefix("127.0.0.1:") }
    guard let port = address.flatMap({ UInt16($0.dropFirst("127.0.0.1:".count).prefix { $0.isNumber }) }) else {
      Issue.record("rewind replay -s 0 never said where it serves: \(line ?? "nothing")")
      return (server, nil)
    }
    return (server, port)
  }
}

@Suite(
  .enabled(if: Harness.hasCompiler, "needs a C compiler: apt-get install gcc"),
  .enabled(if: Harness.which("gdb") != nil, "needs gdb: apt-get install gdb"))
struct DebuggerTests {
  @Test func breakpointInAFunctionShowsItsArguments() throws {
    let session = try DebugSession.record()
    let (gdb, rewind) = try session.gdb(["break scale", "continue", "info args", "continue", "info args", "bt"])
    #expect(gdb.contains("Breakpoint 1, scale (value=0, factor=3) at "), "\(gdb)")
    #expect(gdb.contains("value = 1\nfactor = 3"), "\(gdb)")
    #expect(gdb.contains(" in main (argc=1, argv=") && gdb.contains("debug_target.c:16"), "\(gdb)")
    #expect(rewind.exitedNormally && rewind.status == 0, "\(rewind.summary)")
  }

  @Test func steppingThroughTheLoopAndPrintingAVariable() throws {
    let session = try DebugSession.record()
    let (gdb, _) = try session.gdb([
      "break debug_target.c:16", "continue", "continue", "continue", "continue", "print i", "print sum",
      "next", "print sum", "next", "step", "print value", "finish", "stepi", "info registers rip", "delete", "until 19",
      "print sum",
    ])
    // Fourth stop at line 16: i is 3 and sum is 0 + 3 + 6.
    #expect(gdb.contains("$1 = 3\n$2 = 9\n"), "\(gdb)")
    // `next` ran scale(3, 3) and the addition, to the loop's increment (line 15); the
    // next `next` comes back to line 16 with i = 4, and `step` enters scale(4, 3).
    #expect(gdb.contains("\n15\t  for (int i = 0; i < 6; i++) {\n$3 = 18\n"), "\(gdb)")
    #expect(gdb.contains("scale (value=4, factor=3) at ") && gdb.contains("$4 = 4\n"), "\(gdb)")
    #expect(gdb.contains("Value returned is $5 = 12"), "\(gdb)")
    #expect(gdb.contains("rip            0x"), "\(gdb)")
    // `until 19` runs the rest of the loop: 3 * (0 + 1 + ... + 5).
    #expect(gdb.contains("$6 = 45\n"), "\(gdb)")
  }

  @Test func catchSyscallWriteStopsAtEntryAndReturn() throws {
    let session = try DebugSession.record()
    let (gdb, _) = try session.gdb([
      "catch syscall write", "continue", "print $orig_rax", "print $rdx", "continue", "print $rax", "continue", "continue",
      "print $rax", "continue",
    ])
    let stops = gdb.split(separator: "\n").filter { $0.hasPrefix("Catchpoint 1 (call") || $0.hasPrefix("Catchpoint 1 (returned") }
      .map { $0.prefix { $0 != ")" } + ")" }
    #expect(
      stops == [
        "Catchpoint 1 (call to syscall write)", "Catchpoint 1 (returned from syscall write)",
        "Catchpoint 1 (call to syscall write)", "Catchpoint 1 (returned from syscall write)",
      ], "\(gdb)")
    // Entry: write(1, "sum=45\n", 7); return: 7. The second returns 4 ("bye\n").
    #expect(gdb.contains("$1 = 1\n$2 = 7\n") && gdb.contains("$3 = 7\n"), "\(gdb)")
    #expect(gdb.contains("$4 = 4\n"), "\(gdb)")
    #expect(gdb.contains("exited normally"), "\(gdb)")
  }

  @Test func catchSyscallWithoutArgumentStopsAtEveryCallInOrder() throws {
    let session = try DebugSession.record()
    let count = 12
    let (gdb, _) = try session.gdb(["catch syscall"] + Array(repeating: "continue", count: 2 * count))
    let stops = gdb.split(separator: "\n").compactMap { line -> (entry: Bool, name: String)? in
      guard line.hasPrefix("Catchpoint 1 (call") || line.hasPrefix("Catchpoint 1 (returned") else { return nil }
      let entry = line.hasPrefix("Catchpoint 1 (call to syscall ")
      let rest = line.drop { $0 != "s" }.dropFirst("syscall ".count)
      return (entry, String(rest.prefix { $0 != ")" }))
    }
    try #require(stops.count == 2 * count, "\(gdb)")
    // Entries and returns alternate, each return naming the call its entry named.
    for (index, stop) in stops.enumerated() {
      #expect(stop.entry == (index % 2 == 0), "stop \(index): \(stop)\n\(gdb)")
      if index % 2 == 1 { #expect(stop.name == stops[index - 1].name, "\(gdb)") }
    }
    // The calls are the recording's, in its order (from the first one after the exec).
    let dump = try Harness.rewind(["dump", "--format", "json", session.trace])
    let recorded = dump.stdout.split(separator: "\n").compactMap { line -> String? in
      guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
        object["kind"] as? String == "syscall", let name = object["syscall"] as? String
      else { return nil }
      return name
    }.dropFirst()  // the execve the replay starts after
    #expect(stops.enumerated().filter { $0.offset % 2 == 0 }.map(\.element.name) == Array(recorded.prefix(count)), "\(gdb)")
  }

  @Test func theRecordedCrashIsReportedAtTheFaultingLine() throws {
    let session = try DebugSession.record(["crash"], expectedStatus: 139)
    let (gdb, rewind) = try session.gdb(["continue", "bt", "continue"])
    #expect(gdb.contains("Program received signal SIGSEGV, Segmentation fault."), "\(gdb)")
    #expect(gdb.contains("main (argc=2, argv=") && gdb.contains("debug_target.c:24"), "\(gdb)")
    #expect(gdb.contains("24\t    *nowhere = sum;"), "\(gdb)")
    #expect(gdb.contains("Program terminated with signal SIGSEGV"), "\(gdb)")
    #expect(rewind.exitedNormally && rewind.status == 0, "\(rewind.summary)")
  }

  /// stepi onto a `syscall` instruction: replay still sees the call's entry (and emulates
  /// or performs it) and the step ends after it, with the recorded result.
  @Test func stepiOverSystemCallInstructions() throws {
    let session = try DebugSession.record()
    let (gdb, rewind) = try session.gdb([
      // mmap, which replay performs: the loader's first two, from the same instruction.
      "catch syscall mmap", "continue", "delete", "break *($pc-2)", "continue", "set $at = $pc", "stepi", "p $pc - $at",
      "p $rax > 0x10000", "delete",
      // write, which replay emulates: the second one ("bye\n") returns 4.
      "catch syscall write", "continue", "delete", "break *($pc-2)", "continue", "stepi", "p $rax", "delete",
      "catch syscall exit_group", "continue", "stepi",
    ])
    #expect(gdb.contains("$1 = 2\n$2 = 1\n"), "\(gdb)")
    #expect(gdb.contains("$3 = 4\n"), "\(gdb)")
    #expect(gdb.contains("exited normally"), "\(gdb)")
    #expect(!rewind.stderr.contains("diverged"), "\(rewind.summary)")
  }

  @Test func registersLibrariesAndABacktraceThroughLibc() throws {
    let session = try DebugSession.record()
    let (gdb, _) = try session.gdb([
      "catch syscall write", "continue", "bt", "info sharedlibrary", "p $orig_rax", "p $fs_base != 0", "p $gs_base",
      "p sizeof($xmm0)", "p sizeof($ymm0)", "p $st0", "p $fctrl", "p $mxcsr",
    ])
    // The write's entry: orig_rax is the call's number, fs_base glibc's thread pointer.
    #expect(gdb.contains("$1 = 1\n$2 = 1\n$3 = 0\n"), "\(gdb)")
    #expect(gdb.contains("$4 = 16\n$5 = 32\n$6 = 0\n$7 = 895\n"), "x87 control word 0x37f at start\n\(gdb)")
    #expect(gdb.contains("$8 = [ IM DM ZM OM UM PM ]"), "\(gdb)")
    #expect(gdb.contains("__GI___libc_write (fd=1") && gdb.contains(" in main (argc=1, argv="), "\(gdb)")
    #expect(gdb.contains("Yes         target:/lib/x86_64-linux-gnu/libc.so.6"), "\(gdb)")
  }

  @Test func threadsAreListedWithTheirRecordedIDs() throws {
    let session = try DebugSession.recordFixture("threads_mutex")
    let (gdb, _) = try session.gdb(["break consume", "continue", "info threads", "continue"])
    #expect(gdb.contains("hit Breakpoint 1, consume (arg=0x0)"), "\(gdb)")
    let root = try Harness.ps(session.trace)[0].pid
    let threads = gdb.split(separator: "\n").filter { $0.contains("Thread \(root).") }
    #expect(threads.count >= 2, "\(gdb)")
    #expect(threads.contains { $0.contains("Thread \(root).\(root) ") }, "the main thread has the recorded pid\n\(gdb)")
  }

  @Test func hardwareBreakpointsAndWatchpoints() throws {
    let session = try DebugSession.record()
    let (gdb, _) = try session.gdb(["hbreak scale", "continue", "delete", "up", "watch sum", "continue", "continue"])
    #expect(gdb.contains("Hardware assisted breakpoint 1 at "), "\(gdb)")
    #expect(gdb.contains("Breakpoint 1, scale (value=0, factor=3)"), "\(gdb)")
    // sum goes 0 -> 0 (not reported) -> 3 -> 9.
    #expect(gdb.contains("Old value = 0\nNew value = 3\n"), "\(gdb)")
    #expect(gdb.contains("Old value = 3\nNew value = 9\n"), "\(gdb)")
  }

  @Test func writesAreRefusedAndMonitorCommandsAnswer() throws {
    let session = try DebugSession.record()
    let (gdb, rewind) = try session.gdb([
      "break scale", "continue", "set var value = 7", "print value", "monitor help", "monitor when", "monitor frobnicate",
    ])
    #expect(gdb.contains("$1 = 0"), "the write must not have happened\n\(gdb)")
    #expect(rewind.stderr.contains("refused"), "\(rewind.summary)")
    #expect(gdb.contains("monitor when"), "\(gdb)")
    let when = try #require(gdb.split(separator: "\n").first { $0.hasPrefix("Current event: ") }, "\(gdb)")
    let index = try #require(UInt64(when.dropFirst("Current event: ".count)), "\(when)")
    #expect(index > 2, "\(gdb)")
    // gdb shows the answer; rewind adds nothing on its own stderr (GEF probes monitor
    // commands a target may decline).
    #expect(gdb.contains("unknown monitor command 'frobnicate'"), "\(gdb)")
    #expect(!rewind.stderr.contains("frobnicate"), "\(rewind.summary)")
  }

  @Test func startingAtAnEvent() throws {
    let session = try DebugSession.record()
    let (gdb, _) = try session.gdb(["monitor when", "catch syscall write", "continue"], replayArguments: ["-g", "20"])
    #expect(gdb.contains("Current event: 20"), "\(gdb)")
    #expect(gdb.contains("Catchpoint 1 (call to syscall write)"), "\(gdb)")
    let past = try Harness.rewind(["replay", "-g", "99999", session.trace])
    #expect(past.exitedNormally && past.status != 0 && past.stderr.contains("past the end of the recording"), "\(past.summary)")
  }
}

extension DebuggerTests {
  @Test func debuggingAnExecdChildFromItsExec() throws {
    let work = try Harness.makeWorkDir("debug-exec")
    let exe = try Harness.fixtureCopy("debug_target", in: work)
    let trace = work + "/trace"
    let record = try Harness.rewind(["record", "-o", trace, "/bin/sh", "-c", "\(exe); echo done"], cwd: work)
    try #require(record.exitedNormally && record.status == 0, "\(record.summary)")
    let processes = try Harness.ps(trace)
    let child = try #require(processes.first { $0.command.first == exe }, "\(processes)")
    let session = DebugSession(trace: trace, work: work)
    let (gdb, rewind) = try session.gdb(["info inferiors", "break scale", "continue", "info args"], replayArguments: ["-p", "\(child.pid)"])
    #expect(gdb.contains("process \(child.pid)"), "\(gdb)")
    #expect(gdb.contains("Breakpoint 1, scale (value=0, factor=3)"), "\(gdb)")
    #expect(rewind.exitedNormally && rewind.status == 0, "\(rewind.summary)")
    let wrong = try Harness.rewind(["replay", "-p", "\(processes[0].pid + 100_000)", trace])
    #expect(wrong.exitedNormally && wrong.status != 0 && wrong.stderr.contains("has no process"), "\(wrong.summary)")
  }

  /// The debugged process execs another program: gdb hears of it (an `exec` stop), loads
  /// that program's symbols and sets the breakpoints that were pending on them.
  @Test func gdbFollowsAnExecOfTheDebuggedProcess() throws {
    let work = try Harness.makeWorkDir("debug-follow-exec")
    let exe = try Harness.fixtureCopy("debug_target", in: work)
    let trace = work + "/trace"
    let record = try Harness.rewind(["record", "-o", trace, "/bin/sh", "-c", "exec \(exe)"], cwd: work)
    try #require(record.exitedNormally && record.status == 0, "\(record.summary)")
    let (gdb, rewind) = try DebugSession(trace: trace, work: work).gdb([
      "set breakpoint pending on", "break scale", "continue", "info args", "info inferiors", "continue",
    ])
    #expect(gdb.contains("is executing new program: \(exe)"), "\(gdb)")
    #expect(gdb.contains("Breakpoint 1, scale (value=0, factor=3)"), "\(gdb)")
    #expect(gdb.contains("Breakpoint 1, scale (value=1, factor=3)"), "\(gdb)")
    #expect(gdb.contains("target:\(exe)"), "\(gdb)")
    #expect(!rewind.stderr.contains("diverged"), "\(rewind.summary)")
  }

  /// gdb's ^C is byte 0x03 while the replay runs: it stops at the next event with SIGINT.
  @Test func anInterruptStopsARunningReplay() throws {
    let session = try DebugSession.recordFixture("syscall_loop", args: ["30000"])
    let (server, port) = try session.serve(["-q"])
    let connection = try RawGDBConnection(port: try #require(port))
    #expect(try connection.request("QStartNoAckMode") == "OK")
    try connection.send("vCont;c")
    usleep(300_000)
    try connection.sendInterrupt()
    let stop = try connection.reply()
    #expect(stop.hasPrefix("T02thread:"), "\(stop)")
    let when = try connection.request("qRcmd," + Array("when".utf8).map { String(format: "%02x", $0) }.joined())
    #expect(when.hasPrefix("O"), "\(when)")
    try connection.send("k")
    let result = server.finish(timeout: 30)
    #expect(result.exitedNormally && result.status == 0, "\(result.summary)")
  }
}

extension DebuggerTests {
  /// Records fixture `name` and returns a session on its trace.
  private func recorded(_ name: String) throws -> DebugSession { try DebugSession.recordFixture(name) }

  /// Replay runs a preempted thread to its code point with a DR0 breakpoint; the DR6 that
  /// hit leaves behind must not make a later int3 look like the replay's own trap.
  @Test func softwareBreakpointsInThreadsThatReachedCodePoints() throws {
    let session = try recorded("spin_handoff")
    let (gdb, rewind) = try session.gdb(["break spin_handoff.c:16"] + Array(repeating: "continue", count: 11))
    let hits = gdb.split(separator: "\n").filter { $0.contains("hit Breakpoint 1, player (arg=") }
    #expect(hits.count == 10, "five rounds in each thread\n\(gdb)")
    #expect(gdb.contains("exited normally"), "\(gdb)")
    #expect(!rewind.stderr.contains("diverged"), "\(rewind.summary)")
  }

  /// A vfork child borrows its parent's memory until it execs: the parent's breakpoints
  /// must be back once vfork returns.
  @Test func breakpointsSurviveAVfork() throws {
    let session = try recorded("vfork_exec")
    let (gdb, rewind) = try session.gdb(["break vfork_exec.c:17", "break vfork_exec.c:19", "continue", "continue", "continue"])
    #expect(gdb.contains("Breakpoint 1, main () at ") && gdb.contains("vfork_exec.c:17"), "\(gdb)")
    #expect(gdb.contains("Breakpoint 2, main () at ") && gdb.contains("vfork_exec.c:19"), "\(gdb)")
    #expect(gdb.contains("exited normally"), "\(gdb)")
    #expect(!rewind.stderr.contains("diverged"), "\(rewind.summary)")
  }

  /// A vfork parent waits in the kernel until its child execs: a step into the call ends,
  /// and a start inside the child's life happens, only once the parent is back and its
  /// registers can be read.
  @Test func stepiIntoVforkAndAStartWhileTheChildRuns() throws {
    let session = try recorded("vfork_exec")
    let (gdb, rewind) = try session.gdb([
      "break vfork", "continue", "stepi", "stepi", "stepi", "p $pc == __libc_vfork + 8", "p $rax > 0", "continue",
    ])
    #expect(gdb.contains("$1 = 1\n$2 = 1\n"), "the step ends after the syscall, with the child's pid\n\(gdb)")
    #expect(!gdb.contains("Could not read registers"), "\(gdb)")
    #expect(gdb.contains("exited normally"), "\(gdb)")
    #expect(!rewind.stderr.contains("diverged"), "\(rewind.summary)")

    let dump = try Harness.rewind(["dump", "--format", "json", session.trace])
    let childExec = try #require(
      dump.stdout.split(separator: "\n").compactMap { line -> Int? in
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
          object["syscall"] as? String == "execve", let event = object["event"] as? Int, event > 0
        else { return nil }
        return event
      }.first, "\(dump.stdout)")
    let (started, _) = try session.gdb(["p $pc != 0", "continue"], replayArguments: ["-g", "\(childExec)"])
    #expect(started.contains("$1 = 1\n"), "\(started)")
    #expect(!started.contains("Could not read registers"), "\(started)")
    #expect(started.contains("exited normally"), "\(started)")
  }

  /// A debug register watches 1, 2, 4 or 8 aligned bytes: a 16-byte struct, or a short at
  /// an odd address, takes several.
  @Test func watchpointsOnLongAndUnalignedRegions() throws {
    let session = try recorded("watch_target")
    let (gdb, rewind) = try session.gdb([
      "break main", "continue", "watch quad", "continue", "continue", "delete",
      "watch -l *(short *)&bytes[3]", "continue", "continue",
    ])
    #expect(gdb.contains("Old value = {a = 0, b = 0, c = 0, d = 0}\nNew value = {a = 0, b = 0, c = 0, d = 1}"), "\(gdb)")
    #expect(gdb.contains("Old value = {a = 0, b = 0, c = 0, d = 1}\nNew value = {a = 0, b = 0, c = 0, d = 2}"), "\(gdb)")
    // touch(2) wrote the short before the second stop: it goes 257 -> 514 -> 771.
    #expect(gdb.contains("Old value = 257\nNew value = 514\n"), "\(gdb)")
    #expect(gdb.contains("Old value = 514\nNew value = 771\n"), "\(gdb)")
    #expect(!rewind.stderr.contains("diverged"), "\(rewind.summary)")
  }

  /// The child dies before the parent runs again, so the parent's next resume first stops
  /// for the real SIGCHLD, which replay passes over: a stepi must still be one
  /// instruction (the `cmp` after fork's `syscall` is 6 bytes).
  @Test func stepiWithARealSIGCHLDPending() throws {
    let session = try recorded("crash_child")
    let (gdb, rewind) = try session.gdb([
      "catch syscall clone", "continue", "continue", "set $at = $pc", "stepi", "p $pc - $at", "delete", "continue",
    ])
    #expect(gdb.contains("Catchpoint 1 (returned from syscall clone)"), "\(gdb)")
    #expect(gdb.contains("$1 = 6\n"), "\(gdb)")
    #expect(gdb.contains("exited normally"), "\(gdb)")
    #expect(!rewind.stderr.contains("diverged"), "\(rewind.summary)")
  }

  /// posix_spawn blocks every signal before its clone3. The kernel unblocks SIGTRAP to
  /// deliver a step's trap (force_sig); the spawned child inherits the mask and skips
  /// SIGTRAP in its loop over signals, unless replay gives the mask back after each trap.
  @Test func steppingWithEverySignalBlockedLeavesTheMaskAlone() throws {
    let session = try DebugSession.recordFixture("spawn_then_fork")
    let script = session.work + "/steps.gdb"
    try "set $i = 0\nwhile $i < 1500\n  stepi\n  set $i = $i + 1\nend\n".write(toFile: script, atomically: true, encoding: .utf8)
    let (gdb, rewind) = try session.gdb(["break posix_spawn", "continue", "delete", "source \(script)", "continue"])
    #expect(gdb.contains("exited normally"), "\(gdb)")
    #expect(!rewind.stderr.contains("diverged"), "\(rewind.summary)")
  }

  /// A launched gdb that cannot start must not leave rewind waiting for it to connect.
  @Test func aMissingGdbIsReportedNotWaitedFor() throws {
    let session = try DebugSession.record()
    let result = try Harness.run(
      [try Harness.rewindPath(), "replay", "-q", session.trace], env: ["PATH": "/nonexistent"], cwd: session.work, timeout: 30)
    #expect(!result.timedOut, "\(result.summary)")
    #expect(result.exitedNormally && result.status == 1, "\(result.summary)")
    #expect(result.stderr.contains("gdb could not be started"), "\(result.summary)")

    let badArgument = try Harness.run(
      [try Harness.rewindPath(), "replay", "-q", session.trace, "--", "--no-such-gdb-option"], cwd: session.work, timeout: 30)
    #expect(!badArgument.timedOut && badArgument.exitedNormally && badArgument.status == 1, "\(badArgument.summary)")
    #expect(badArgument.stderr.contains("gdb ended with status 1 before it connected"), "\(badArgument.summary)")
  }

  /// gdb numbers signals its own way: a realtime signal or SIGSTKFLT reported under its
  /// Linux number was another signal to gdb (SIG36 became SIGWAITING, which gdb does not
  /// even stop for).
  @Test func signalsAreReportedUnderGdbsNumbers() throws {
    let session = try recorded("raise_signals")
    let (gdb, _) = try session.gdb(["continue", "continue", "continue", "continue"])
    #expect(gdb.contains("Program received signal SIGUSR1, User defined signal 1."), "\(gdb)")
    #expect(gdb.contains("Program received signal SIG36, Real-time event 36."), "\(gdb)")
    #expect(gdb.contains("Program received signal ?, Unknown signal."), "SIGSTKFLT, as gdb shows it natively\n\(gdb)")
    #expect(gdb.contains("exited normally"), "\(gdb)")

    let killed = try DebugSession.recordFixture("raise_usr1", expectedStatus: 138)
    let (death, _) = try killed.gdb(["continue", "continue"])
    #expect(death.contains("Program received signal SIGUSR1"), "\(death)")
    #expect(death.contains("Program terminated with signal SIGUSR1, User defined signal 1."), "\(death)")
  }

  /// A thread is gone once its `exit` runs, so a stepi onto that call ends at its entry,
  /// where gdb can still read the thread (a stop naming the dead thread left gdb unable to
  /// read registers or go on).
  @Test func stepiOntoAThreadsExit() throws {
    let session = try recorded("threads_mutex")
    let (gdb, rewind) = try session.gdb([
      "catch syscall exit", "continue", "set $exit = $pc - 2", "delete", "break *$exit", "continue", "stepi",
      "p $pc == $exit + 2", "info threads", "delete", "continue",
    ])
    #expect(gdb.contains("hit Breakpoint 2, "), "another thread reaches the same exit\n\(gdb)")
    #expect(gdb.contains("$1 = 1\n"), "\(gdb)")
    #expect(!gdb.contains("Could not read registers") && !gdb.contains("has terminated"), "\(gdb)")
    #expect(gdb.contains("exited normally"), "\(gdb)")
    #expect(!rewind.stderr.contains("diverged"), "\(rewind.summary)")
  }

  /// A hardware watchpoint the kernel refuses (outside user space) must not keep its
  /// debug register: every later hardware breakpoint failed along with it. (A region that
  /// wraps around the address space must not crash rewind either.)
  @Test func aRefusedWatchpointGivesItsDebugRegisterBack() throws {
    let session = try DebugSession.record()
    let (gdb, rewind) = try session.gdb([
      "break scale", "continue", "watch -l *(char *)0xffffffffffffffff", "continue", "delete", "hbreak scale", "continue",
      "info args",
    ])
    #expect(gdb.contains("Could not insert hardware watchpoint 2"), "\(gdb)")
    #expect(gdb.contains("Breakpoint 3, scale (value=1, factor=3)"), "\(gdb)")
    #expect(rewind.exitedNormally && rewind.status == 0, "\(rewind.summary)")
  }

  /// A hardware breakpoint set before the signal's code point must still fire after it:
  /// runToCodePoint arms DR0 alone and leaves DR7's bits for DR1-DR3 as gdb set them.
  @Test func hardwareBreakpointAfterACodePoint() throws {
    let session = try recorded("spin_until_alarm")
    let (gdb, _) = try session.gdb(["hbreak after_alarm", "continue", "continue"])
    #expect(gdb.contains("Breakpoint 1, after_alarm (value=1)"), "\(gdb)")
  }

  /// stepi from the recorded signal's stop enters its handler: the kernel reports that step
  /// without a debug exception, and DR6 still holds the code point's DR0 hit.
  @Test func stepiIntoASignalHandler() throws {
    let session = try recorded("spin_until_alarm")
    let (gdb, rewind) = try session.gdb(["handle SIGALRM stop print pass", "continue", "stepi", "bt", "continue"])
    #expect(gdb.contains("Program received signal SIGALRM"), "\(gdb)")
    #expect(gdb.contains("#0  on_alarm (signal=") && gdb.contains("<signal handler called>"), "\(gdb)")
    #expect(gdb.contains("exited normally"), "\(gdb)")
    #expect(!rewind.stderr.contains("diverged"), "\(rewind.summary)")
  }
}

extension DebuggerTests {
  /// A ^C while the replay runs a loop without system calls stops it inside the loop (a
  /// SIGSTOP the replay swallows), and the replay then goes on to the recorded end.
  @Test func anInterruptStopsALoopWithoutSystemCalls() throws {
    let session = try DebugSession.recordFixture("busy_count", args: ["2000000000"])
    let nm = try Harness.run(["/usr/bin/env", "nm", "-S", session.work + "/busy_count"])
    let mainLine = try #require(nm.stdout.split(separator: "\n").first { $0.hasSuffix(" T main") }, "\(nm.summary)")
    let fields = mainLine.split(separator: " ")
    let (offset, size) = (UInt64(fields[0], radix: 16)!, UInt64(fields[1], radix: 16)!)
    // Without ASLR, a position-independent executable is loaded at 0x555555554000.
    let main = 0x5555_5555_4000 + offset

    let (server, port) = try session.serve()
    let connection = try RawGDBConnection(port: try #require(port))
    #expect(try connection.request("QStartNoAckMode") == "OK")
    try connection.send("vCont;c")
    usleep(500_000)
    try connection.sendInterrupt()
    #expect(try connection.reply().hasPrefix("T02thread:"))
    let ripBytes = try connection.request("p10")
    let rip = UInt64(littleEndianHex: ripBytes)
    #expect(rip.map { $0 >= main && $0 < main + size } == true, "rip \(ripBytes) should be in main [\(main), +\(size))")
    #expect(try connection.request("vCont;c").hasPrefix("W00"))
    try connection.send("k")
    let result = server.finish(timeout: 30)
    #expect(result.exitedNormally && result.status == 0, "\(result.summary)")
    #expect(result.stdout.contains("count=2000000000\n"), "\(result.summary)")
  }
}

extension UInt64 {
  /// A register's value from the `p` reply's little-endian hex bytes.
  init?(littleEndianHex text: String) {
    guard text.count == 16 else { return nil }
    var value: UInt64 = 0
    var index = text.startIndex
    for byte in 0..<8 {
      let next = text.index(index, offsetBy: 2)
      guard let part = UInt64(text[index..<next], radix: 16) else { return nil }
      value |= part << (8 * UInt64(byte))
      index = next
    }
    self = value
  }
}

/// Just enough of the remote protocol to send packets and a ^C by hand.
final class RawGDBConnection {
  private let fd: Int32
  private var buffer: [UInt8] = []

  init(port: UInt16) throws {
    fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
    let r = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    if r != 0 { throw HarnessError.commandFailed("connect to 127.0.0.1:\(port)", ProcessResult(command: [], status: errno, reason: .exit, stdout: "", stderr: "", timedOut: false)) }
  }

  deinit { close(fd) }

  func send(_ payload: String) throws {
    let checksum = payload.utf8.reduce(UInt8(0)) { $0 &+ $1 }
    let packet = Array("$\(payload)#\(String(format: "%02x", checksum))".utf8)
    _ = packet.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
  }

  func sendInterrupt() throws {
    var byte: UInt8 = 3
    _ = write(fd, &byte, 1)
  }

  /// The next packet's payload (acks skipped); gives up after 30 s.
  func reply() throws -> String {
    let deadline = Date().addingTimeInterval(30)
    while Date() < deadline {
      if let start = buffer.firstIndex(of: UInt8(ascii: "$")), let end = buffer[start...].firstIndex(of: UInt8(ascii: "#")),
        buffer.count >= end + 3
      {
        let payload = String(decoding: buffer[(start + 1)..<end], as: UTF8.self)
        buffer.removeSubrange(..<(end + 3))
        return payload
      }
      var pollfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
      guard poll(&pollfd, 1, 1000) > 0 else { continue }
      var chunk = [UInt8](repeating: 0, count: 4096)
      let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
      if n <= 0 { break }
      buffer += chunk.prefix(n)
    }
    return ""
  }

  func request(_ payload: String) throws -> String {
    try send(payload)
    return try reply()
  }
}
