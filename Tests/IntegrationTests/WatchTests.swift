// `rewind watch`: hardware watchpoints on live programs (started under watch, or attached
// with -p) and in recordings, on the fixture watch_stray.c: main opens, closes and reopens
// sessions[0]; a worker thread writes `counter` three times and then writes the closed
// session through a stale pointer (the line marked STRAY WRITE).

import Foundation
import Testing

@Suite(.enabled(if: Harness.hasCompiler, "needs a C compiler: apt-get install gcc"))
struct WatchTests {
  /// The fixture's line holding `marker`.
  static func line(of marker: String) throws -> Int {
    let source = try String(contentsOf: Harness.fixturesDir.appendingPathComponent("watch_stray.c"), encoding: .utf8)
    let lines = source.split(separator: "\n", omittingEmptySubsequences: false)
    return try #require(lines.firstIndex { $0.contains(marker) }) + 1
  }

  /// The JSON reports of a run, decoded.
  static func reports(_ stdout: String) throws -> [[String: Any]] {
    try stdout.split(separator: "\n").map { line in
      try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not a JSON object: \(line)")
    }
  }

  static func innermost(_ report: [String: Any]) -> (function: String?, line: Int?) {
    let frame = (report["backtrace"] as? [[String: Any]])?.first
    return (frame?["function"] as? String, frame?["line"] as? Int)
  }

  static let finalOutput = "counter=18 state=99 max=200"

  /// watch_stray started with `--wait GO` (and `extra`), waiting; its pid.
  static func startWaiting(_ program: String, go: String, _ extra: [String] = [], work: String) throws -> (BackgroundProcess, Int32) {
    let target = try Harness.start([program, "--wait", go] + extra, cwd: work)
    let ready = try #require(target.waitForLine(startingWith: "ready ", timeout: 30))
    return (target, try #require(Int32(ready.dropFirst("ready ".count))))
  }

  /// The stray write through the dangling pointer is reported in the worker thread, in
  /// `worker` at its line, after main's three legitimate writes; the program's output is
  /// untouched and rewind exits with its status.
  @Test func theStrayWriteIsReportedInTheRightThreadAndLine() throws {
    let work = try Harness.makeWorkDir("watch-stray")
    let program = try Harness.fixtureCopy("watch_stray", in: work)
    let result = try Harness.rewind(["watch", "--expr", "sessions[0].state", "--format", "json", "--", program], cwd: work)
    #expect(result.exitedNormally && result.status == 0, "\(result.summary)")
    let reports = try Self.reports(result.stdout.replacingOccurrences(of: Self.finalOutput + "\n", with: ""))
    #expect(result.stdout.contains(Self.finalOutput), "\(result.summary)")
    #expect(reports.map { $0["newValue"] as? Int } == [1, 0, 1, 99], "\(result.stdout)")
    #expect(reports.map { Self.innermost($0).function } == ["open_session", "close_session", "open_session", "worker"], "\(result.stdout)")
    let stray = try #require(reports.last)
    #expect(Self.innermost(stray).line == (try Self.line(of: "STRAY WRITE")), "\(stray)")
    #expect(stray["oldValue"] as? Int == 1)
    let pid = try #require(reports.first?["pid"] as? Int)
    #expect(reports.dropLast().allSatisfy { $0["tid"] as? Int == pid })
    #expect(stray["tid"] as? Int != pid && stray["pid"] as? Int == pid, "the worker thread's tid: \(stray)")
    // The caller of the innermost frame is named too (a backtrace, not just a pc).
    let frames = try #require(stray["backtrace"] as? [[String: Any]])
    #expect(frames.count >= 2 && frames[1]["function"] as? String == "start_thread", "\(frames)")
    #expect(result.stderr.contains("rewind: watching sessions[0].state ("), "\(result.summary)")
    #expect(result.stderr.contains("the program exited with status 0; 4 hits reported, detached"), "\(result.summary)")
  }

  /// Built with -O2, open_session is inlined into main: the backtrace shows it as an
  /// inlined frame at its own line, then main at the line of the call, at the same pc.
  @Test func inlinedFramesAreShown() throws {
    let work = try Harness.makeWorkDir("watch-inlined")
    let program = work + "/watch_stray_o2"
    let compile = try Harness.run(
      ["/usr/bin/env", "gcc", "-O2", "-g", "-o", program, Harness.fixturesDir.appendingPathComponent("watch_stray.c").path, "-lpthread"])
    try #require(compile.status == 0, "\(compile.summary)")
    let result = try Harness.rewind(["watch", "--expr", "sessions[0].state", "--format", "json", "--", program], cwd: work)
    #expect(result.exitedNormally && result.status == 0, "\(result.summary)")
    let reports = try Self.reports(result.stdout.replacingOccurrences(of: Self.finalOutput + "\n", with: ""))
    let callLine = try Self.line(of: "open_session(&sessions[0], 2);")
    let inlined = reports.first { report in
      guard let frames = report["backtrace"] as? [[String: Any]], frames.count >= 2 else { return false }
      return frames[0]["function"] as? String == "open_session" && frames[0]["inlined"] as? Bool == true
        && frames[1]["function"] as? String == "main" && frames[1]["line"] as? Int == callLine
        && frames[0]["pc"] as? String == frames[1]["pc"] as? String
    }
    #expect(inlined != nil, "\(result.stdout)")
  }

  /// Text reports name the symbol, the old and new value and the frames; --changes-only,
  /// --ignore and --max-hits filter them.
  @Test func textReportsAndFilters() throws {
    let work = try Harness.makeWorkDir("watch-text")
    let program = try Harness.fixtureCopy("watch_stray", in: work)
    let all = try Harness.rewind(["watch", "--symbol", "counter", "--", program], cwd: work)
    #expect(all.exitedNormally && all.status == 0, "\(all.summary)")
    let heads = all.stdout.split(separator: "\n").filter { $0.contains(": write of counter (0x") }
    #expect(heads.count == 5, "\(all.stdout)")
    #expect(all.stdout.contains("  old 0xa (10)  new 0xf (15)\n"), "\(all.stdout)")
    #expect(all.stdout.contains(" in main (watch_stray.c:\(try Self.line(of: "counter += 5;")))\n"), "\(all.stdout)")
    #expect(all.stdout.contains(" in worker (watch_stray.c:\(try Self.line(of: "counter++")))\n"), "\(all.stdout)")

    let notWorker = try Harness.rewind(["watch", "--symbol", "counter", "--ignore", "worker", "--format", "json", "--", program], cwd: work)
    #expect(try Self.reports(notWorker.stdout.replacingOccurrences(of: Self.finalOutput + "\n", with: "")).map { $0["newValue"] as? Int } == [10, 15])
    let firstTwo = try Harness.rewind(["watch", "--symbol", "counter", "--max-hits", "2", "--format", "json", "--", program], cwd: work)
    #expect(firstTwo.exitedNormally && firstTwo.status == 0, "\(firstTwo.summary)")
    // Detached after two hits, the program ran on to its end unwatched.
    #expect(firstTwo.stdout.contains(Self.finalOutput), "\(firstTwo.summary)")
    #expect(firstTwo.stderr.contains("2 hits reported (--max-hits)"), "\(firstTwo.summary)")
    let changes = try Harness.rewind(
      ["watch", "--expr", "sessions[0].id", "--changes-only", "--format", "json", "--", program], cwd: work)
    // id: 1, then 0, then 2; every write changes it.
    #expect(try Self.reports(changes.stdout.replacingOccurrences(of: Self.finalOutput + "\n", with: "")).map { $0["newValue"] as? Int } == [1, 0, 2])
  }

  /// Attaching to a running process watches its threads, including the worker it creates
  /// afterwards; ^C detaches with every debug register cleared: the program runs on,
  /// untraced, through writes to the watched memory, and ends normally.
  @Test func attachThenDetachLeavesTheProgramRunning() throws {
    let work = try Harness.makeWorkDir("watch-attach")
    let program = try Harness.fixtureCopy("watch_stray", in: work)
    // Watched to the end: the worker made after attaching is watched too.
    do {
      let go = work + "/go1"
      let (target, pid) = try Self.startWaiting(program, go: go, work: work)
      let watch = try Harness.start([try Harness.rewindPath(), "watch", "-p", "\(pid)", "--symbol", "counter", "--format", "json"], cwd: work)
      #expect(watch.waitForLine(startingWith: "rewind: watching counter", timeout: 30, inStandardError: true) != nil, "\(watch.stderr())")
      // One tracer at a time: a second watch says who holds it.
      let second = try Harness.rewind(["watch", "-p", "\(pid)", "--symbol", "counter"], cwd: work)
      #expect(second.status == 1 && second.stderr.contains("is already traced by process \(watch.processIdentifier) (rewind)"), "\(second.summary)")
      FileManager.default.createFile(atPath: go, contents: nil)
      let program = target.finish(timeout: 30)
      let result = watch.finish(timeout: 30)
      #expect(program.exitedNormally && program.status == 0 && program.stdout.contains(Self.finalOutput), "\(program.summary)")
      #expect(result.exitedNormally && result.status == 0, "\(result.summary)")
      let reports = try Self.reports(result.stdout)
      #expect(reports.count == 5, "\(result.stdout)")
      #expect(Set(reports.suffix(3).map { $0["tid"] as? Int }).count == 1 && reports.last?["tid"] as? Int != Int(pid), "\(result.stdout)")
      #expect(result.stderr.contains("no watched process is left"), "\(result.summary)")
    }
    // ^C before the writes: detached, untraced, and the writes later trap nothing.
    do {
      let go = work + "/go2"
      let (target, pid) = try Self.startWaiting(program, go: go, work: work)
      let watch = try Harness.start([try Harness.rewindPath(), "watch", "-p", "\(pid)", "--symbol", "counter"], cwd: work)
      #expect(watch.waitForLine(startingWith: "rewind: watching counter", timeout: 30, inStandardError: true) != nil, "\(watch.stderr())")
      kill(watch.processIdentifier, SIGINT)
      let result = watch.finish(timeout: 30)
      #expect(result.exitedNormally && result.status == 0, "\(result.summary)")
      #expect(result.stderr.contains("rewind: stopped by SIGINT; 0 hits reported, detached"), "\(result.summary)")
      let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
      #expect(status.contains("TracerPid:\t0\n"), "still traced: \(status)")
      #expect(!status.contains("State:\tt"), "left stopped: \(status)")
      FileManager.default.createFile(atPath: go, contents: nil)
      let program = target.finish(timeout: 30)
      #expect(program.exitedNormally && program.status == 0 && program.stdout.contains(Self.finalOutput), "\(program.summary)")
    }
  }

  /// --duration and SIGTERM detach like ^C: the program, untraced, runs on to its end.
  @Test func durationAndSIGTERMDetach() throws {
    let work = try Harness.makeWorkDir("watch-duration")
    let program = try Harness.fixtureCopy("watch_stray", in: work)
    let go = work + "/go"
    let (target, pid) = try Self.startWaiting(program, go: go, work: work)
    let timed = try Harness.rewind(["watch", "-p", "\(pid)", "--symbol", "counter", "--duration", "0.3"], cwd: work)
    #expect(timed.status == 0 && timed.stderr.contains("rewind: the --duration passed; 0 hits reported, detached"), "\(timed.summary)")
    let watch = try Harness.start([try Harness.rewindPath(), "watch", "-p", "\(pid)", "--symbol", "counter"], cwd: work)
    #expect(watch.waitForLine(startingWith: "rewind: watching counter", timeout: 30, inStandardError: true) != nil, "\(watch.stderr())")
    kill(watch.processIdentifier, SIGTERM)
    let terminated = watch.finish(timeout: 30)
    #expect(terminated.status == 0 && terminated.stderr.contains("rewind: stopped by SIGTERM"), "\(terminated.summary)")
    FileManager.default.createFile(atPath: go, contents: nil)
    let result = target.finish(timeout: 30)
    #expect(result.exitedNormally && result.status == 0 && result.stdout.contains(Self.finalOutput), "\(result.summary)")
  }

  /// rewind killed with SIGKILL cannot clean up itself: its guardian clears the debug
  /// registers it left, so the program's later writes to the watched memory do not kill it
  /// with SIGTRAP, and nothing is left traced or stopped.
  @Test func killingRewindLeavesNoWatchBehind() throws {
    let work = try Harness.makeWorkDir("watch-killed")
    let program = try Harness.fixtureCopy("watch_stray", in: work)
    let go = work + "/go"
    let (target, pid) = try Self.startWaiting(program, go: go, work: work)
    let watch = try Harness.start(
      [try Harness.rewindPath(), "watch", "-p", "\(pid)", "--symbol", "counter"], env: ["REWIND_DEBUG_WATCH": "1"], cwd: work)
    let guardianLine = watch.waitForLine(startingWith: "rewind: guardian ", timeout: 30, inStandardError: true)
    let guardian = try #require(guardianLine.flatMap { Int32($0.dropFirst("rewind: guardian ".count)) }, "\(watch.stderr())")
    #expect(watch.waitForLine(startingWith: "rewind: watching counter", timeout: 30, inStandardError: true) != nil, "\(watch.stderr())")
    kill(watch.processIdentifier, SIGKILL)
    _ = watch.finish(timeout: 30)
    // The guardian ends once it has cleared and detached every thread; the program waits
    // for `go` meanwhile.
    func guardianGone() -> Bool {
      guard let status = try? String(contentsOfFile: "/proc/\(guardian)/status", encoding: .utf8) else { return true }
      return status.contains("State:\tZ")
    }
    for _ in 0..<3000 where !guardianGone() { usleep(10_000) }
    #expect(guardianGone(), "the guardian \(guardian) did not end")
    let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
    #expect(status.contains("TracerPid:\t0\n") && !status.contains("State:\tt"), "\(status)")
    FileManager.default.createFile(atPath: go, contents: nil)
    let result = target.finish(timeout: 30)
    #expect(result.exitedNormally && result.status == 0 && result.stdout.contains(Self.finalOutput), "\(result.summary)")
  }

  /// The in-program API: under rewind watch the program's own request sets a watch (the
  /// setting is reported with its backtrace) and is cleared again; without rewind both calls
  /// are no-ops failing with ENOSYS.
  @Test func theProgramCanAskToBeWatched() throws {
    let work = try Harness.makeWorkDir("watch-api")
    let program = try Harness.fixtureCopy("watch_stray", in: work)
    let alone = try Harness.run([program, "--api"], cwd: work)
    #expect(alone.stdout.contains("rewind_watch: -1 ENOSYS\nrewind_unwatch: -1\n" + Self.finalOutput), "\(alone.summary)")
    // Watching sessions[0].state from the command line too: two watches in one process.
    let watched = try Harness.rewind(["watch", "--expr", "sessions[0].state", "--format", "json", "--", program, "--api"], cwd: work)
    #expect(watched.exitedNormally && watched.status == 0, "\(watched.summary)")
    #expect(watched.stdout.contains("rewind_watch: 0\nrewind_unwatch: 0\n"), "\(watched.summary)")
    let reports = try Self.reports(
      watched.stdout.split(separator: "\n").filter { $0.hasPrefix("{") }.joined(separator: "\n"))
    let set = try #require(reports.first { $0["kind"] as? String == "set" })
    let frames = try #require(set["backtrace"] as? [[String: Any]])
    #expect(frames.contains { $0["function"] as? String == "main" && $0["line"] as? Int == (try? Self.line(of: "int r = rewind_watch(")) }, "\(frames)")
    let counterHits = reports.filter { $0["kind"] as? String == "hit" && $0["length"] as? Int == 8 && $0["address"] as? String == set["address"] as? String }
    #expect(counterHits.map { $0["newValue"] as? Int } == [10, 15, 16, 17, 18], "\(watched.stdout)")
    #expect(reports.contains { $0["kind"] as? String == "cleared" }, "\(watched.stdout)")
    #expect(reports.filter { $0["watch"] as? String == "sessions[0].state" }.count == 4, "\(watched.stdout)")
    #expect(set["watch"] as? String == "counter", "the address is named by its symbol: \(set)")

    // Attached with -p --api (nothing asked on the command line): rewind puts the filter
    // into the running process; the request, made after attaching, is served just the same.
    let go = work + "/go"
    let (target, pid) = try Self.startWaiting(program, go: go, ["--api"], work: work)
    let watch = try Harness.start([try Harness.rewindPath(), "watch", "-p", "\(pid)", "--api", "--format", "json"], cwd: work)
    #expect(watch.waitForLine(startingWith: "rewind: watching nothing yet", timeout: 30, inStandardError: true) != nil, "\(watch.stderr())")
    FileManager.default.createFile(atPath: go, contents: nil)
    let attachedProgram = target.finish(timeout: 30)
    let attached = watch.finish(timeout: 30)
    #expect(attachedProgram.stdout.contains("rewind_watch: 0\nrewind_unwatch: 0\n" + Self.finalOutput), "\(attachedProgram.summary)")
    #expect(!attached.stderr.contains("not served"), "\(attached.summary)")
    let attachedReports = try Self.reports(attached.stdout)
    #expect(attachedReports.map { $0["kind"] as? String } == ["set", "hit", "hit", "hit", "hit", "hit", "cleared"], "\(attached.stdout)")
  }

  /// In a recording, the writes `rewind watch TRACE` lists are those gdb stops at with the
  /// same watchpoint on a replay of that trace: same values, same lines, same order.
  @Test(.enabled(if: Harness.which("gdb") != nil, "needs gdb: apt-get install gdb"))
  func inARecordingTheHitsAreGDBsStops() throws {
    let session = try DebugSession.recordFixture("watch_stray")
    let watched = try Harness.rewind(
      ["watch", "--expr", "sessions[0].state", "--format", "json", session.trace], env: ["REWIND_TRACE_DIR": session.work + "/traces"])
    #expect(watched.exitedNormally && watched.status == 0, "\(watched.summary)")
    let reports = try Self.reports(watched.stdout)
    #expect(reports.map { $0["newValue"] as? Int } == [1, 0, 1, 99], "\(watched.stdout)")
    #expect(reports.allSatisfy { $0["event"] is Int }, "\(watched.stdout)")
    let (gdb, _) = try session.gdb(["break main", "continue", "watch -l sessions[0].state", "continue", "continue", "continue", "continue", "continue"])
    // The same writes, in the same order; gdb names each stop's thread when it changes, and
    // the last write is the worker's. (gdb shows the line after each write, where the CPU
    // trapped; rewind names the writing instruction's line: the next test checks those.)
    let values = gdb.split(separator: "\n").filter { $0.hasPrefix("New value = ") }.map { Int($0.dropFirst("New value = ".count)) }
    #expect(values == reports.map { $0["newValue"] as? Int }, "gdb: \(gdb)\nrewind: \(watched.stdout)")
    let events = reports.compactMap { $0["event"] as? Int }
    #expect(events == events.sorted(), "\(events)")
    #expect(gdb.contains("[Switching to Thread "), "\(gdb)")
    #expect(reports.map { Self.innermost($0).line } == [
      try Self.line(of: "s->state = 1;"), try Self.line(of: "s->state = 0;"), try Self.line(of: "s->state = 1;"),
      try Self.line(of: "STRAY WRITE"),
    ], "\(watched.stdout)")
  }

  /// A forked child is watched with --follow-forks (the same addresses: fork copies the
  /// layout) and not without; the child's hits carry its own pid.
  @Test func forkedChildrenAreWatchedWhenAskedTo() throws {
    let work = try Harness.makeWorkDir("watch-fork")
    let program = try Harness.fixtureCopy("watch_fork", in: work)
    let parentOnly = try Harness.rewind(["watch", "--symbol", "counter", "--format", "json", "--", program], cwd: work)
    let followed = try Harness.rewind(["watch", "--symbol", "counter", "--follow-forks", "--format", "json", "--", program], cwd: work)
    for result in [parentOnly, followed] {
      #expect(result.exitedNormally && result.status == 0 && result.stdout.hasSuffix("done 2\n"), "\(result.summary)")
    }
    let strip = { (text: String) in text.replacingOccurrences(of: "done 2\n", with: "") }
    #expect(try Self.reports(strip(parentOnly.stdout)).map { $0["newValue"] as? Int } == [1, 2], "\(parentOnly.stdout)")
    let reports = try Self.reports(strip(followed.stdout))
    #expect(reports.map { $0["newValue"] as? Int } == [1, 100, 101, 2], "\(followed.stdout)")
    let pids = reports.map { $0["pid"] as? Int }
    #expect(pids[1] == pids[2] && pids[1] != pids[0] && pids[3] == pids[0], "\(pids)")
  }

  /// Requests rewind cannot carry out exit 64 (1 for a process it cannot attach to), each
  /// naming what is wrong, and touch nothing.
  @Test func badRequestsSayWhatIsWrong() throws {
    let work = try Harness.makeWorkDir("watch-bad")
    let program = try Harness.fixtureCopy("watch_stray", in: work)
    let cases: [([String], Int32, String)] = [
      (["watch", "--symbol", "no_such_variable", "--", program], 64, "no symbol 'no_such_variable'"),
      (["watch", "--symbol", "main", "--", program], 64, "'main' is a function, not data"),
      (["watch", "--symbol", "sessions", "--symbol", "counter", "--", program], 64, "4 of the 4 are taken"),
      (["watch", "--expr", "cfg->limits.nope", "--", program], 64, "no member 'nope'"),
      (["watch", "--expr", "counter->x", "--", program], 64, "the left side is not a pointer"),
      (["watch", "--symbol", "counter", "--len", "40", "--", program], 64, "at most 32 bytes"),
      (["watch", "--addr", "0x1001", "--len", "8", "--symbol", "counter", "--expr", "sessions[1]", "--", program], 64, "debug registers"),
      (["watch", "--addr", "banana", "--", program], 64, "not an address"),
      (["watch", "-p", "999999999", "--symbol", "counter"], 64, "no process 999999999"),
      (["watch", work + "/no-such-trace"], 64, "say what to watch"),
      (["watch", "--api", "--symbol", "counter", "--", program], 64, "--api is for -p"),
    ]
    for (arguments, status, message) in cases {
      let result = try Harness.rewind(arguments, cwd: work)
      #expect(result.exitedNormally && result.status == status, "\(arguments): \(result.summary)")
      #expect(result.stderr.contains(message), "\(arguments): \(result.summary)")
    }
  }
}
