// Reverse execution: the real gdb, in batch mode, against `rewind replay -s 0` serving a
// recorded fixture (reverse_target.c, whose lines 12, 16, 23, 24 and 29 are named below),
// going backwards with `bc` and `bs`. Each expected string is what gdb prints for a
// reverse-capable target.

import Foundation
import Testing

@Suite(
  .enabled(if: Harness.hasCompiler, "needs a C compiler: apt-get install gcc"),
  .enabled(if: Harness.which("gdb") != nil, "needs gdb: apt-get install gdb"))
struct ReverseDebuggingTests {
  /// reverse_target crashes with SIGSEGV at line 29 (its two SIGUSR1s pass silently).
  private static let toTheCrash = ["handle SIGUSR1 nostop noprint pass", "continue"]

  private func recorded() throws -> DebugSession {
    try DebugSession.recordFixture("reverse_target", expectedStatus: 139)
  }

  /// A checkpoint every few events: going backwards starts from copies of the process
  /// (the tests without it replay again from the start).
  private static let checkpointed = ["--checkpoint-every", "7"]

  /// The values of `$n` gdb printed, in order.
  private func values(_ gdb: String) -> [String] {
    gdb.split(separator: "\n").filter { $0.hasPrefix("$") && $0.contains(" = ") }.map { String($0.split(separator: " = ", maxSplits: 1)[1]) }
  }

  @Test func aWatchpointGoingBackwardsStopsAtTheLastWrites() throws {
    let session = try recorded()
    let (gdb, rewind) = try session.gdb(
      Self.toTheCrash + ["watch -l counter", "reverse-continue", "print i", "reverse-continue", "print i", "continue", "print counter"],
      replayArguments: Self.checkpointed)
    #expect(gdb.contains("Program received signal SIGSEGV"), "\(gdb)")
    // Going backwards, Old is the later value: the loop's last two additions were 2 * 4 and 2 * 3.
    #expect(gdb.contains("Old value = 20\nNew value = 12\n"), "\(gdb)")
    #expect(gdb.contains("Old value = 12\nNew value = 6\n"), "\(gdb)")
    #expect(gdb.contains("reverse_target.c:23\n23\t    counter += scale(i, 2);"), "\(gdb)")
    // Stopped before the write: forward again, the same write triggers it.
    #expect(gdb.contains("Old value = 6\nNew value = 12\n"), "\(gdb)")
    #expect(values(gdb) == ["4", "3", "12"], "\(gdb)")
    #expect(!rewind.stderr.contains("failed") && !rewind.stderr.contains("diverged"), "\(rewind.summary)")
  }

  @Test func catchSyscallGoingBackwardsStopsAtReturnsAndEntries() throws {
    let session = try recorded()
    let (gdb, rewind) = try session.gdb(
      Self.toTheCrash + [
        "catch syscall write", "reverse-continue", "print $rax", "reverse-continue", "print $rdx", "reverse-continue",
        "reverse-continue", "print *(char *)$rsi",
      ], replayArguments: Self.checkpointed)
    let stops = gdb.split(separator: "\n").filter { $0.hasPrefix("Catchpoint 1 (call") || $0.hasPrefix("Catchpoint 1 (returned") }
      .map { $0.prefix { $0 != ")" } + ")" }
    #expect(
      stops == [
        "Catchpoint 1 (returned from syscall write)", "Catchpoint 1 (call to syscall write)",
        "Catchpoint 1 (returned from syscall write)", "Catchpoint 1 (call to syscall write)",
      ], "\(gdb)")
    // The newline's write returned 1 and was called with count 1; the one before wrote a dot.
    #expect(values(gdb) == ["1", "1", "46 '.'"], "\(gdb)")
    #expect(!rewind.stderr.contains("failed"), "\(rewind.summary)")
  }

  @Test func breakpointsReverseFinishAndReverseNext() throws {
    let session = try recorded()
    let (gdb, rewind) = try session.gdb(
      Self.toTheCrash + [
        "break scale", "reverse-continue", "info args", "reverse-finish", "print i", "delete",
        "break reverse_target.c:26", "continue", "next", "next", "reverse-next", "print counter", "reverse-next", "print handled",
      ])
    #expect(gdb.contains("Breakpoint 1, scale (value=4, factor=2) at "), "\(gdb)")
    #expect(gdb.contains("value = 4\nfactor = 2\n"), "\(gdb)")
    // reverse-finish: back in main at the call (gdb says "Run back to call" only to a terminal).
    #expect(gdb.contains(" in main () at ") && gdb.contains("23\t    counter += scale(i, 2);"), "\(gdb)")
    // From line 28, reverse-next goes back over the write (27), then over raise and the
    // handler it ran (26), where handled holds the first signal's 10 only.
    #expect(gdb.contains("\n27\t  write(1, \"\\n\", 1);\n"), "\(gdb)")
    #expect(values(gdb) == ["4", "20", "10"], "\(gdb)")
    #expect(!rewind.stderr.contains("failed"), "\(rewind.summary)")
  }

  /// 200 stepi from the loop's last write, through the call, the loop's end, raise and the
  /// signal handler it runs; then 200 reverse-stepi must show the same places in reverse.
  @Test func reverseStepiRetracesTwoHundredSteps() throws {
    let session = try recorded()
    let script = session.work + "/steps.gdb"
    let printState = "printf \"\\n%c %d %lx %lx %lx %lx %lx %lx\\n\", $dir, $n, $pc, $rsp, $rax, $rcx, $rdi, $rsi"
    try """
      break reverse_target.c:24 if i == 4
      continue
      delete
      set $n = 0
      set $dir = 'F'
      while $n < 200
        \(printState)
        stepi
        set $n = $n + 1
      end
      set $dir = 'R'
      while $n > 0
        \(printState)
        reverse-stepi
        set $n = $n - 1
      end
      \(printState)

      """.write(toFile: script, atomically: true, encoding: .utf8)
    let (gdb, rewind) = try session.gdb(["source " + script], replayArguments: Self.checkpointed)
    var forward: [Int: String] = [:]
    var backward: [Int: String] = [:]
    for line in gdb.split(separator: "\n") {
      let fields = line.split(separator: " ", maxSplits: 2)
      guard fields.count == 3, fields[0] == "F" || fields[0] == "R", let n = Int(fields[1]) else { continue }
      if fields[0] == "F" { forward[n] = String(fields[2]) } else { backward[n] = String(fields[2]) }
    }
    #expect(forward.count == 200 && backward.count == 201, "\(gdb)")
    let differing = (0..<200).filter { forward[$0] != backward[$0] }
    #expect(differing.isEmpty, "steps \(differing.prefix(5)) differ: \(differing.prefix(5).map { "\(forward[$0] ?? "-") / \(backward[$0] ?? "-")" })")
    // The steps went through the write's system call and into the handler.
    #expect(gdb.contains("<signal handler called>"), "\(gdb)")
    let handler = forward.values.contains { $0.hasPrefix("555555555159 ") || $0.hasPrefix("55555555515d ") }
    #expect(handler, "no step in on_usr1")
    #expect(!rewind.stderr.contains("failed"), "\(rewind.summary)")
  }

  @Test func goingBackPastTheStartEndsHistory() throws {
    let session = try recorded()
    let (gdb, rewind) = try session.gdb([
      "reverse-stepi", "catch syscall write", "continue", "reverse-continue", "reverse-continue", "info registers rip",
    ])
    let ends = gdb.components(separatedBy: "No more reverse-execution history.").count - 1
    #expect(ends == 3, "\(gdb)")
    #expect(gdb.contains("0x00007ffff7fe4b70 in _start ()"), "\(gdb)")
    #expect(!rewind.stderr.contains("failed"), "\(rewind.summary)")
  }

  @Test func checkpointsComeBackToTheSameRegistersAndMemory() throws {
    let session = try recorded()
    let (gdb, rewind) = try session.gdb([
      "handle SIGUSR1 nostop noprint pass", "break scale", "continue", "continue", "monitor checkpoint", "info registers rip rsp rdi", "print counter", "continue",
      "continue", "print counter", "monitor checkpoints", "monitor restart 1", "flushregs", "info registers rip rsp rdi",
      "print counter", "monitor delete 1", "monitor checkpoints", "monitor restart 1",
    ])
    #expect(gdb.contains("Checkpoint 1 at event "), "\(gdb)")
    let registerLines = gdb.split(separator: "\n").filter { $0.hasPrefix("rip ") || $0.hasPrefix("rsp ") || $0.hasPrefix("rdi ") }
    #expect(registerLines.count == 6 && Array(registerLines[0..<3]) == Array(registerLines[3..<6]), "\(gdb)")
    // counter was 0 + 0 at the second call (i = 1), 0 + 2 + 4 two calls later, 0 again after the restart.
    #expect(values(gdb) == ["0", "6", "0"], "\(gdb)")
    #expect(registerLines.contains { $0.hasPrefix("rdi ") && $0.contains("0x1 ") }, "\(gdb)")
    #expect(gdb.contains("Restarted at checkpoint 1"), "\(gdb)")
    #expect(gdb.contains("No places remembered."), "\(gdb)")
    #expect(gdb.contains("no checkpoint '1'"), "\(gdb)")
    #expect(!rewind.stderr.contains("failed"), "\(rewind.summary)")
  }

  /// Four threads take a lock in turn; going backwards from the sixth increment stops at
  /// the five before it, each in the thread that made it: replaying from the start, and
  /// from checkpoints whose copies have their threads made again.
  @Test(arguments: [[], ["--checkpoint-every", "4"]])
  func reverseContinueStopsInTheRightThread(replayArguments: [String]) throws {
    let session = try DebugSession.recordFixture("threads_mutex")
    let forward = Array(repeating: ["continue", "print id * 1000 + counter"], count: 6).flatMap { $0 }
    let backward = Array(repeating: ["reverse-continue", "print id * 1000 + counter"], count: 5).flatMap { $0 }
    let (gdb, rewind) = try session.gdb(
      ["break threads_mutex.c:18"] + forward + backward + ["info threads"], replayArguments: replayArguments)
    let seen = values(gdb)
    #expect(seen.count == 11, "\(gdb)")
    if seen.count == 11 {
      #expect(Array(seen[6...]) == Array(seen[0..<5].reversed()), "\(seen)\n\(gdb)")
    }
    #expect(!rewind.stderr.contains("failed"), "\(rewind.summary)")
  }

  /// ^C during a long reverse-continue (a replay of a loop of two billion additions) stops
  /// it at a consistent place, from which the replay goes on to the recorded end.
  @Test func anInterruptStopsAReverseContinue() throws {
    let session = try DebugSession.recordFixture("busy_count", args: ["2000000000"])
    let (server, port) = try session.serve(["-q"])
    let connection = try RawGDBConnection(port: try #require(port))
    #expect(try connection.request("QStartNoAckMode") == "OK")
    #expect(try connection.request("vCont;c").hasPrefix("W00"))
    try connection.send("bc")
    usleep(500_000)
    try connection.sendInterrupt()
    #expect(try connection.reply().hasPrefix("T02thread:"))
    let when = try connection.request("qRcmd," + Array("when".utf8).map { String(format: "%02x", $0) }.joined())
    #expect(when.hasPrefix("O"), "\(when)")
    #expect(try connection.reply() == "OK")
    #expect(try connection.request("vCont;c").hasPrefix("W00"))
    try connection.send("k")
    let result = server.finish(timeout: 30)
    #expect(result.exitedNormally && result.status == 0, "\(result.summary)")
  }
}

extension ReverseDebuggingTests {
  /// A read's output lands in a watched buffer: the kernel wrote it (replay, for the
  /// emulated call), so no debug exception fires; the watchpoint stops there anyway, going
  /// forwards at the call's return and going backwards at the call.
  @Test func kernelWritesTriggerWatchpointsBothWays() throws {
    let session = try DebugSession.recordFixture("kernel_write")
    let (gdb, rewind) = try session.gdb([
      "watch -l buffer[1]", "continue", "continue", "continue", "reverse-continue", "reverse-continue", "print $pc == read+0",
    ])
    // Forwards: 'i' from "first", 'g' from "again", then the program's own 'X'.
    #expect(gdb.contains("Old value = 0 '\\000'\nNew value = 105 'i'\n"), "\(gdb)")
    #expect(gdb.contains("Old value = 105 'i'\nNew value = 103 'g'\n"), "\(gdb)")
    #expect(gdb.contains("Old value = 103 'g'\nNew value = 88 'X'\n"), "\(gdb)")
    // Backwards: before the program's write, then before the second read's.
    #expect(gdb.contains("Old value = 88 'X'\nNew value = 103 'g'\n"), "\(gdb)")
    #expect(gdb.contains("Old value = 103 'g'\nNew value = 105 'i'\n"), "\(gdb)")
    #expect(!rewind.stderr.contains("failed"), "\(rewind.summary)")
  }
}

extension ReverseDebuggingTests {
  /// `monitor log-instructions` lists the instructions a run of stepi shows, from the
  /// return of the loop's first write on, and leaves the replay where it was.
  @Test func anInstructionLogListsWhatStepiShows() throws {
    let session = try recorded()
    let log = session.work + "/instructions.log"
    let script = session.work + "/log.gdb"
    try """
      handle SIGUSR1 nostop noprint pass
      catch syscall write
      continue
      continue
      delete
      python
      import re
      when = int(re.search(r"Current event: (\\d+)", gdb.execute("monitor when", to_string=True)).group(1))
      print(gdb.execute("monitor log-instructions %d %d \(log)" % (when + 1, when + 2), to_string=True))
      for n in range(30):
          print("STEP %x" % int(gdb.parse_and_eval("$pc")))
          gdb.execute("stepi", to_string=True)
      end

      """.write(toFile: script, atomically: true, encoding: .utf8)
    let (gdb, rewind) = try session.gdb(["source " + script])
    #expect(gdb.contains(" instructions of events "), "\(gdb)")
    let stepped = gdb.split(separator: "\n").filter { $0.hasPrefix("STEP ") }.map { String($0.dropFirst(5)) }
    let logged = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").compactMap { line -> String? in
      line.split(separator: " ").dropFirst(2).first.map { String($0.dropFirst(2).dropLast()) }
    }
    #expect(stepped.count == 30, "\(gdb)")
    #expect(logged.count >= 10, "\(logged)")
    let common = min(stepped.count, logged.count)
    #expect(Array(stepped.prefix(common)) == Array(logged.prefix(common)), "stepi: \(stepped)\nlog: \(logged)")
    #expect(try String(contentsOfFile: log, encoding: .utf8).contains(": ret\t"), "the log disassembles")
    #expect(!rewind.stderr.contains("failed"), "\(rewind.summary)")
  }
}

extension ReverseDebuggingTests {
  /// A spacing that is neither events nor seconds is refused before anything runs.
  @Test func aBadCheckpointSpacingIsRefused() throws {
    let bad = try Harness.rewind(["replay", "--checkpoint-every", "often", "/nonexistent-trace"])
    #expect(bad.status == 64 && bad.stderr.contains("--checkpoint-every takes a number of events (5000) or of seconds"), "\(bad.summary)")
    let autopilot = try Harness.rewind(["replay", "-a", "--checkpoint-every", "10", "/nonexistent-trace"])
    #expect(autopilot.status == 64 && autopilot.stderr.contains("--checkpoint-every is for debugging"), "\(autopilot.summary)")
  }

  /// Checkpoints every 20 ms of replay: going backwards from the crash still lands on the
  /// loop's last write.
  @Test func checkpointsBySecondsOfReplay() throws {
    let session = try recorded()
    let (gdb, rewind) = try session.gdb(
      Self.toTheCrash + ["watch -l counter", "reverse-continue", "monitor checkpoints"], replayArguments: ["--checkpoint-every", "20ms"])
    #expect(gdb.contains("Old value = 20\nNew value = 12\n"), "\(gdb)")
    #expect(!rewind.stderr.contains("failed"), "\(rewind.summary)")
  }
}

extension ReverseDebuggingTests {
  /// A parent forks four children in turn and waits for each: going backwards over the
  /// waits retraces them, replaying from the start or from checkpoints that copy the parent
  /// and its live child each.
  @Test(arguments: [[], ["--checkpoint-every", "2"]])
  func reverseOverAProcessTree(replayArguments: [String]) throws {
    let session = try DebugSession.recordFixture("fork_pipe_wait")
    let (gdb, rewind) = try session.gdb(
      ["catch syscall wait4"] + Array(repeating: "continue", count: 5) + Array(repeating: "reverse-continue", count: 3)
        + ["continue", "continue"], replayArguments: ["-q"] + replayArguments)
    let stops = gdb.split(separator: "\n").filter { $0.hasPrefix("Catchpoint 1 (call to") || $0.hasPrefix("Catchpoint 1 (returned") }
      .map { line in
        let call = line.hasPrefix("Catchpoint 1 (call") ? "call" : "return"
        return call + " " + (line.split(separator: "(pid=").dropFirst().first?.prefix { $0 != "," } ?? "?")
      }
    #expect(stops.count == 10, "\(gdb)")
    if stops.count == 10 {
      #expect(Array(stops[5..<8]) == [stops[3], stops[2], stops[1]], "\(stops)")
      #expect(Array(stops[8..<10]) == [stops[2], stops[3]], "\(stops)")
    }
    #expect(!rewind.stderr.contains("failed") && !rewind.stderr.contains("diverged"), "\(rewind.summary)")
  }
}

extension ReverseDebuggingTests {
  /// gdb's conditions are evaluated where the breakpoint hits (`ConditionalBreakpoints+`):
  /// forwards and backwards only the hits where they hold stop, including a hardware
  /// breakpoint at the same address as a software one.
  @Test func conditionalBreakpointsStopOnlyWhereTheyHold() throws {
    let session = try recorded()
    let (gdb, rewind) = try session.gdb(
      [
        "handle SIGUSR1 nostop noprint pass", "break scale if value == 2", "continue", "print value", "continue", "delete",
        "break scale if value == 1 || value == 3", "reverse-continue", "print value", "reverse-continue", "print value",
        "hbreak scale if value == 0", "reverse-continue", "print value", "continue", "print value",
      ], replayArguments: Self.checkpointed)
    #expect(gdb.contains("Program received signal SIGSEGV"), "\(gdb)")
    #expect(values(gdb) == ["2", "3", "1", "0", "1"], "\(gdb)")
    #expect(!rewind.stderr.contains("failed"), "\(rewind.summary)")
  }
}

extension ReverseDebuggingTests {
  /// A place deep in a loop without system calls (a ^C stopped it there, hundreds of
  /// millions of passes in): going back to it finds it with the compare stub, by its
  /// registers and stack, not by a breakpoint trap at every pass.
  @Test func aPlaceDeepInALoopIsReachedAgain() throws {
    // 2*10^9 passes, about 2 s: with 4*10^8 (0.41-0.50 s here) a quiet machine finished the
    // loop before the ^C sent 0.4 s in (the replay exited, and the place was never made).
    let session = try DebugSession.recordFixture("busy_count", args: ["2000000000"])
    let (server, port) = try session.serve(["-q"])
    let connection = try RawGDBConnection(port: try #require(port))
    #expect(try connection.request("QStartNoAckMode") == "OK")
    try connection.send("vCont;c")
    usleep(400_000)
    try connection.sendInterrupt()
    #expect(try connection.reply().hasPrefix("T02thread:"))
    let registers = try connection.request("g")
    func monitor(_ command: String) throws -> String {
      let output = try connection.request("qRcmd," + Array(command.utf8).map { String(format: "%02x", $0) }.joined())
      #expect(try connection.reply() == "OK")
      return String(decoding: stride(from: 1, to: output.count - 1, by: 2).compactMap { offset -> UInt8? in
        let start = output.index(output.startIndex, offsetBy: offset)
        return UInt8(output[start..<output.index(start, offsetBy: 2)], radix: 16)
      }, as: UTF8.self)
    }
    #expect(try monitor("checkpoint").hasPrefix("Checkpoint 1 at event"))
    #expect(try connection.request("vCont;c").hasPrefix("W00"))
    // (A trap at each of the passes before it would take long past the reply's 30 s.)
    #expect(try monitor("restart 1").hasPrefix("Restarted at checkpoint 1"))
    #expect(try connection.request("g") == registers)
    try connection.send("k")
    let result = server.finish(timeout: 30)
    #expect(result.exitedNormally && result.status == 0, "\(result.summary)")
  }
}

extension ReverseDebuggingTests {
  /// From a crash at the end of a loop of 300,000 passes without a system call, reverse-stepi
  /// goes back into the loop's last pass: a counting compare stub finds which pass the crash
  /// was in, a counting stub runs to the pass before, and only that pass is single-stepped
  /// (not the whole loop, millions of instructions; nor a breakpoint trap a pass).
  @Test func reverseStepiFromACrashAfterALongLoop() throws {
    let session = try DebugSession.recordFixture("loop_then_crash", expectedStatus: 139)
    let (gdb, rewind) = try session.gdb(
      [
        "continue", "print i", "print $pc", "monitor work", "reverse-stepi", "print i", "monitor work", "reverse-stepi",
        "reverse-stepi", "stepi", "stepi", "stepi", "print $pc", "print i",
      ])
    #expect(gdb.contains("Program received signal SIGSEGV"), "\(gdb)")
    let printed = values(gdb)
    try #require(printed.count == 5, "\(gdb)")
    // In the last pass before the step back and after it; forward three steps, back at the crash.
    #expect(printed[0] == "299999" && printed[1].contains("0x"), "\(gdb)")
    #expect(printed[2] == "299999", "\(gdb)")
    #expect(printed[3] == printed[1], "\(gdb)")
    #expect(printed[4] == "299999", "\(gdb)")
    let work = gdb.split(separator: "\n").filter { $0.hasPrefix("Replay work since gdb attached") }.map(workCounts)
    try #require(work.count == 2, "\(gdb)")
    let steps = work[1].steps - work[0].steps, traps = work[1].traps - work[0].traps
    // One pass is a few dozen instructions; the loop is millions.
    #expect(steps > 0 && steps < 1000, "\(gdb)")
    #expect(traps < 10, "\(gdb)")
    #expect(work[1].counted - work[0].counted >= 299_999, "\(gdb)")
    #expect(!rewind.stderr.contains("failed") && !rewind.stderr.contains("diverged"), "\(rewind.summary)")
  }

  /// Records loop_then_crash with `mode`, and under gdb goes to its crash, steps back
  /// `count` instructions (running `each` after every step), runs `between`, steps forwards
  /// as far again and prints $pc. Returns gdb's output, the replay's result and the values
  /// printed (the crash's $pc first, the last one last).
  func stepBackAndForth(_ mode: String, count: Int, each: [String] = ["print $pc"], between: [String] = ["print i"]) throws -> (
    gdb: String, rewind: ProcessResult, printed: [String]
  ) {
    let session = try DebugSession.recordFixture("loop_then_crash", args: ["300000", mode], expectedStatus: 139)
    let back = Array(repeating: ["reverse-stepi"] + each, count: count).flatMap { $0 }
    let forward = Array(repeating: "stepi", count: count)
    let (gdb, rewind) = try session.gdb(["continue", "print $pc", "monitor work"] + back + between + ["monitor work"] + forward + ["print $pc"])
    #expect(gdb.contains("Program received signal SIGSEGV"), "\(gdb)")
    let printed = values(gdb)
    let prints = each.filter { $0.hasPrefix("print") }.count * count + between.filter { $0.hasPrefix("print") }.count + 2
    try #require(printed.count == prints, "\(gdb)")
    return (gdb, rewind, printed)
  }

  /// Between the two `monitor work` lines of `gdb`, fewer than 200 instructions were
  /// single-stepped (a pass or a function, not a loop), and the replay neither failed nor
  /// diverged.
  func expectFewSingleSteps(_ gdb: String, _ rewind: ProcessResult, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let work = gdb.split(separator: "\n").filter { $0.hasPrefix("Replay work since gdb attached") }.map(workCounts)
    try #require(work.count == 2, "\(gdb)", sourceLocation: sourceLocation)
    #expect(work[1].steps - work[0].steps < 200, "\(gdb)", sourceLocation: sourceLocation)
    #expect(!rewind.stderr.contains("failed") && !rewind.stderr.contains("diverged"), "\(rewind.summary)", sourceLocation: sourceLocation)
  }

  /// The numbers `monitor work` prints: single steps, breakpoint traps, passes counted.
  func workCounts(_ line: Substring) -> (steps: Int, traps: Int, counted: Int) {
    let numbers = line.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
    return numbers.count == 4 ? (numbers[1], numbers[2], numbers[3]) : (-1, -1, -1)
  }
}

extension ReverseDebuggingTests {
  /// From a crash just after a loop of 300,000 passes, 20 reverse-stepi walk back through
  /// the code after the loop, across its exit (a branch taken to there, then the loop's
  /// closing branch not taken) into its last pass: each place is found from the one after
  /// it (the instruction that falls through into it, or the branch to it) without stepping
  /// through the loop; the same steps forwards come back to the crash.
  @Test func reverseStepiAcrossTheExitOfALongLoop() throws {
    let session = try DebugSession.recordFixture("loop_then_crash", args: ["300000", "after"], expectedStatus: 139)
    let back = Array(repeating: "reverse-stepi", count: 20)
    let forward = Array(repeating: "stepi", count: 20)
    let (gdb, rewind) = try session.gdb(
      ["continue", "print $pc", "monitor work"] + back + ["print i", "print $pc", "monitor work"] + forward + ["print $pc", "print i"])
    #expect(gdb.contains("Program received signal SIGSEGV"), "\(gdb)")
    let printed = values(gdb)
    try #require(printed.count == 5, "\(gdb)")
    // Back in the loop's last pass (i not yet incremented past it), 20 instructions before the crash.
    #expect(printed[1] == "299999", "\(gdb)")
    #expect(printed[2] != printed[0], "\(gdb)")
    #expect(printed[3] == printed[0] && printed[4] == "300000", "\(gdb)")
    try expectFewSingleSteps(gdb, rewind)
  }
}

extension ReverseDebuggingTests {
  /// A thread's alternate signal stack survives into checkpoint copies: going backwards from
  /// the end of thread_altstack, each run starts from a copy (one every 2 events) whose
  /// second thread was made again; the handler, reached backwards ten times, runs on the
  /// alternate stack in each (or the replay diverges at the handler's next call).
  @Test func aThreadsAlternateSignalStackIsInEveryCopy() throws {
    let session = try DebugSession.recordFixture("thread_altstack")
    let backward = Array(repeating: ["reverse-continue", "print handled"], count: 10).flatMap { $0 }
    let (gdb, rewind) = try session.gdb(
      ["handle SIGUSR1 nostop noprint pass", "break exit", "continue", "break on_usr1"] + backward, replayArguments: ["--checkpoint-every", "2"])
    #expect(values(gdb) == (0..<10).reversed().map(String.init), "\(gdb)")
    #expect(!rewind.stderr.contains("failed") && !rewind.stderr.contains("diverged"), "\(rewind.summary)")
  }
}

extension ReverseDebuggingTests {
  /// From a crash after a loop of 300,000 passes and a call: 24 reverse-stepi walk back
  /// through the call's return into the called function, up to its first instruction, to
  /// the call, and on into the loop's closing branch; each place is found from the one
  /// after it (a return's place from the callee's returns, a call's from the return address
  /// on the stack), never by stepping through the loop. The same steps forwards come back.
  @Test func reverseStepiThroughACallAfterALongLoop() throws {
    let (gdb, rewind, printed) = try stepBackAndForth("call", count: 24)
    // In pick on the way (its return, then its first instruction), then back in main.
    #expect(printed[6].contains("<pick+"), "\(gdb)")
    #expect(printed[14].contains("<pick>"), "\(gdb)")
    #expect(printed[15].contains("<main+"), "\(gdb)")
    #expect(printed[25] == "300000", "\(gdb)")
    #expect(printed[26] == printed[0], "\(gdb)")
    try expectFewSingleSteps(gdb, rewind)
  }
}

extension ReverseDebuggingTests {
  /// From a crash after a loop of 300,000 passes and a call through a function pointer, or a
  /// call of libc's toupper through the PLT: reverse-stepi walks back through the callee to
  /// its first instruction, then to the PLT entry's jump (for toupper) and the call, whose
  /// target the registers and memory tell, and on into the loop; never by stepping through
  /// the loop. The same steps forwards come back to the crash.
  @Test(arguments: ["pointer", "library"])
  func reverseStepiThroughAnIndirectCallAfterALongLoop(mode: String) throws {
    let count = 44
    let (gdb, rewind, printed) = try stepBackAndForth(mode, count: count)
    // The callee's first instruction (pick, or libc's toupper), then the PLT entry that
    // jumped there (toupper only), then the call in main; 44 steps back, the loop's last pass.
    let entry = try #require(printed.firstIndex { $0.hasSuffix(mode == "pointer" ? "<pick>" : "toupper>") }, "\(gdb)")
    #expect(printed[entry - 1].contains(mode == "pointer" ? "<pick+" : "toupper+"), "\(gdb)")
    let caller = mode == "pointer" ? entry + 1 : entry + 2
    if mode == "library" { #expect(printed[entry + 1].hasSuffix("<toupper@plt>"), "\(gdb)") }
    #expect(printed[caller].contains("<main+"), "\(gdb)")
    #expect(printed[count + 1] == "299999", "\(gdb)")
    #expect(printed[count + 2] == printed[0], "\(gdb)")
    try expectFewSingleSteps(gdb, rewind)
  }
}

extension ReverseDebuggingTests {
  /// From a crash after a loop of 300,000 passes and a switch whose jump table sends it to
  /// a case, or a call of a function that tail-calls another (whose return goes straight
  /// back to main): reverse-stepi walks back to the case's first instruction and the
  /// indirect jmp before it (found among the jumps near it that go there with these
  /// registers), or through the tail-called function's return, its first instruction and
  /// the jmp to it; never by stepping through the loop. The same steps forwards come back.
  @Test(arguments: ["switch", "tail"])
  func reverseStepiThroughAnIndirectJumpOrATailCall(mode: String) throws {
    let count = 40
    let (gdb, rewind, printed) = try stepBackAndForth(mode, count: count, each: ["print $pc", "x/i $pc"])
    let pcs = Array(printed[1...count])
    if mode == "switch" {
      // The place before the case's first instruction is the table's `jmp *%rax`, and
      // the one before that the add that made its target.
      let instructions = gdb.split(separator: "\n").filter { $0.hasPrefix("=> ") }
      try #require(instructions.count == count, "\(gdb)")
      let jump = try #require(instructions.firstIndex { $0.hasSuffix("jmp    *%rax") }, "\(gdb)")
      #expect(jump > 0 && instructions[jump - 1].contains("movl   $0x"), "\(gdb)")
      #expect(jump + 1 < count && instructions[jump + 1].contains("add    %rdx,%rax"), "\(gdb)")
    } else {
      // pick's return, pick's first instruction, the jmp in relay, relay's first
      // instruction, the call in main.
      let entry = try #require(pcs.firstIndex { $0.hasSuffix("<pick>") }, "\(gdb)")
      try #require(entry > 0 && entry + 3 < count, "\(gdb)")
      #expect(pcs[entry - 1].contains("<pick+"), "\(gdb)")
      #expect(pcs[entry + 1].contains("<relay+"), "\(gdb)")
      #expect(pcs[entry + 2].hasSuffix("<relay>"), "\(gdb)")
      #expect(pcs[entry + 3].contains("<main+"), "\(gdb)")
    }
    // 40 steps back, the loop's last pass.
    #expect(printed[count + 1] == "299999", "\(gdb)")
    #expect(printed[count + 2] == printed[0], "\(gdb)")
    try expectFewSingleSteps(gdb, rewind)
  }
}

extension ReverseDebuggingTests {
  /// Parent and child bump a counter in a MAP_SHARED page: checkpoints are taken all the
  /// same (the page's bytes are kept and written back into each copy a run starts from),
  /// and going backwards over the parent's printf breakpoint shows, at each hit, the same
  /// `seen` and counter a forward run showed there.
  @Test func checkpointsKeepWritableSharedMemory() throws {
    let session = try DebugSession.recordFixture("shared_counter")
    let hit = ["print seen", "print *counter"]
    let forward = Array(repeating: ["continue"] + hit, count: 10).flatMap { $0 }
    let backward = Array(repeating: ["reverse-continue"] + hit, count: 9).flatMap { $0 }
    let (gdb, rewind) = try session.gdb(
      ["break shared_counter.c:17"] + forward + backward + ["monitor checkpoints"], replayArguments: ["--checkpoint-every", "5"])
    let printed = values(gdb)
    try #require(printed.count == 38, "\(gdb)")
    let hits = stride(from: 0, to: 38, by: 2).map { printed[$0] + "/" + printed[$0 + 1] }
    #expect(Array(hits[10...]) == Array(hits[..<9].reversed()), "\(hits)\n\(gdb)")
    // The counter moved between hits (the child bumps it too): a copy that kept a later
    // value would show it.
    #expect(Set(hits[..<10]).count == 10, "\(hits)")
    #expect(gdb.contains("Copies of the process (automatic checkpoints)"), "\(gdb)")
    #expect(!rewind.stderr.contains("failed") && !rewind.stderr.contains("diverged"), "\(rewind.summary)")
  }
}

extension ReverseDebuggingTests {
  /// From a crash after a loop of 300,000 passes and the first call of libc's tolower, which
  /// goes through the dynamic loader's lazy resolver: reverse-stepi walks back through
  /// tolower to its first instruction and on to the resolver's `jmp *%r11` (found in the
  /// loader's code: r11 still holds tolower's address), and two more into the resolver;
  /// never by stepping from the event before. The same steps forwards come back.
  @Test func reverseStepiFromAFunctionTheLazyResolverJumpedTo() throws {
    // Steps from the crash back to tolower's first instruction, then on into the resolver.
    let count = 30
    let (gdb, rewind, printed) = try stepBackAndForth("lazy", count: count, between: [])
    let pcs = Array(printed[1...count])
    let entry = try #require(pcs.firstIndex { $0.hasSuffix("tolower>") }, "\(gdb)")
    try #require(entry + 3 < count, "\(gdb)")
    #expect(pcs[entry + 1].contains("_dl_runtime_resolve"), "\(gdb)")
    #expect(pcs[entry + 2].contains("_dl_runtime_resolve") && pcs[entry + 3].contains("_dl_runtime_resolve"), "\(gdb)")
    #expect(printed[count + 1] == printed[0], "\(gdb)")
    try expectFewSingleSteps(gdb, rewind)
  }
}
