import Foundation
import Testing

/// Signals sent to `rewind record` itself: SIGTERM is passed on to the program and the trace
/// is finished; SIGKILL leaves a trace that replays up to where the recorder died, and no
/// tracee behind.
@Suite struct RecorderSignalTests {
  /// Starts `rewind record -o TRACE ticker`, waits until it printed `tick 10` (200 ms: the
  /// trace writer flushes a frame at least every 100 ms), and sends
  /// `signal` to rewind. Returns rewind's exit, its stdout, and the ticker's pid.
  private func recordTicker(sending signal: Int32, label: String, options: [String] = []) throws -> (status: Int32, reason: Process.TerminationReason, stdout: String, trace: String, tickerPid: Int32) {
    let work = try Harness.makeWorkDir(label)
    let exe = try Harness.fixtureCopy("ticker", in: work)
    let trace = work + "/trace"
    let outPath = work + "/record.stdout"
    FileManager.default.createFile(atPath: outPath, contents: nil)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: try Harness.rewindPath())
    process.arguments = ["record"] + options + ["-o", trace, exe]
    process.environment = ProcessInfo.processInfo.environment.merging(["REWIND_TRACE_DIR": work + "/traces"]) { _, new in new }
    let output = try #require(FileHandle(forWritingAtPath: outPath))
    process.standardOutput = output
    process.standardError = FileHandle.nullDevice
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let deadline = Date().addingTimeInterval(30)
    func stdout() -> String { String(decoding: FileManager.default.contents(atPath: outPath) ?? Data(), as: UTF8.self) }
    while !stdout().contains("tick 10 ") && Date() < deadline && process.isRunning { usleep(5_000) }
    try #require(stdout().contains("tick 10 "), "the ticker never reached tick 10: \(stdout())")
    kill(process.processIdentifier, signal)
    while process.isRunning && Date() < deadline { usleep(5_000) }
    if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    process.waitUntilExit()
    try? output.close()
    let text = stdout()
    let pidLine = try #require(text.split(separator: "\n").first { $0.hasPrefix("pid ") })
    let tickerPid = try #require(Int32(pidLine.dropFirst(4)))
    return (process.terminationStatus, process.terminationReason, text, trace, tickerPid)
  }

  @Test func sigtermIsForwardedAndTheTraceFinished() throws {
    let run = try recordTicker(sending: SIGTERM, label: "ticker-sigterm")
    #expect(run.reason == .exit && run.status == 7, "rewind record should exit with the ticker's 7")
    #expect(run.stdout.contains("caught SIGTERM after tick"))
    #expect(FileManager.default.fileExists(atPath: run.trace + "/summary.json"))
    let replay = try Harness.replay(run.trace)
    #expect(replay.exitedNormally && replay.status == 0, "\(replay.summary)")
    #expect(replay.stdout == run.stdout)
  }

  /// With the system call buffer too (the ticker's writes are buffered): what the recorder
  /// had read of the buffers at its last stops is in the trace.
  @Test(arguments: [[], ["--syscall-buffer"]])
  func sigkilledRecorderLeavesAReplayableTraceAndNoTracee(options: [String]) throws {
    let run = try recordTicker(sending: SIGKILL, label: "ticker-sigkill", options: options)
    #expect(run.reason == .uncaughtSignal && run.status == SIGKILL)
    // The tracee dies with its tracer (PTRACE_O_EXITKILL, PR_SET_PDEATHSIG): nothing is left
    // running or stopped; at most a zombie until init reaps it.
    let deadline = Date().addingTimeInterval(5)
    func tickerAlive() -> Bool {
      guard let status = try? String(contentsOfFile: "/proc/\(run.tickerPid)/stat", encoding: .utf8) else { return false }
      let state = status.split(separator: ")").last?.split(separator: " ").first ?? "?"
      return state != "Z" && state != "X"
    }
    while tickerAlive() && Date() < deadline { usleep(10_000) }
    #expect(!tickerAlive(), "the tracee \(run.tickerPid) outlived its killed recorder")
    #expect(!FileManager.default.fileExists(atPath: run.trace + "/summary.json"))
    let replay = try Harness.replay(run.trace)
    #expect(replay.exitedNormally && replay.status == 0, "\(replay.summary)")
    #expect(replay.stderr.contains("recording ends"), "\(replay.summary)")
    // Everything up to the last complete frame replays: a prefix of what was recorded, with
    // at most the last ~100 ms missing.
    #expect(replay.stdout.contains("tick 0 "))
    #expect(run.stdout.hasPrefix(replay.stdout), "replay printed what the recording did not:\n\(replay.stdout)")
  }
}
