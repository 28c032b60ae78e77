import Foundation
import LinuxTrace
import Testing
import TraceFormat

@testable import Replayer

/// `ReplaySession.step()` drives a real replay one event at a time: each step hands back the
/// next event of the trace, and the replay ends as `run()` ends it.
///
/// The fixtures are recorded by the built `rewind` binary; the stepped replay runs in this
/// process, on a tracer thread of its own. It does not make the test process a subreaper
/// (as `run()` does, and reaps every child at the end, which could take another test's),
/// so it takes fixtures whose processes are all reaped while they are traced.
@Suite(.serialized) struct SteppedReplayTests {
  static let packageRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

  /// The `rewind` next to this test runner (this build's), else .build/debug/rewind.
  static func rewindPath() throws -> String {
    if let path = ProcessInfo.processInfo.environment["REWIND_BIN"], !path.isEmpty {
      return path
    }
    let runner = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
    let sibling = URL(fileURLWithPath: runner).deletingLastPathComponent()
      .appendingPathComponent("rewind").path
    if FileManager.default.isExecutableFile(atPath: sibling) { return sibling }
    return packageRoot.appendingPathComponent(".build/debug/rewind").path
  }

  /// Runs `command` with stdin and output on /dev/null (a chatty child cannot block on a
  /// pipe) and returns its exit status.
  @discardableResult
  static func run(_ command: [String], environment: [String: String] = [:]) throws -> Int32 {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: command[0])
    process.arguments = Array(command.dropFirst())
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    process.standardInput = FileHandle.nullDevice
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    return process.terminationStatus
  }

  /// Compiles the fixture and records it into `<work>/trace`.
  static func record(_ fixture: String, in work: String, status: Int32 = 0) throws -> String {
    let executable = work + "/" + fixture
    let source = packageRoot.appendingPathComponent("Tests/Fixtures/\(fixture).c").path
    let compiler = ProcessInfo.processInfo.environment["CC"] ?? "cc"
    try #require(
      try run(["/usr/bin/env", compiler, "-O0", "-g", "-Wall", "-o", executable, source]) == 0,
      "compiling \(fixture)")
    let trace = work + "/trace"
    let recorded = try run(
      [try rewindPath(), "record", "-o", trace, executable],
      environment: ["REWIND_TRACE_DIR": work + "/traces"])
    #expect(recorded == status, "rewind record \(fixture) exits with the program's status")
    return trace
  }

  static func withWorkDirectory<T>(_ body: (String) throws -> T) throws -> T {
    let work = NSTemporaryDirectory() + "rewind-stepped-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: work) }
    return try body(work)
  }

  /// What a stepped replay saw: the event of each step, and how it finished.
  struct Stepped {
    var events: [TraceEvent] = []
    var replayedCount = 0
    var outcome: ReplayOutcome
    var codePointsReached: Int
    var stepsAfterTheEnd: [ReplayStep]
  }

  static func replayStepByStep(_ options: ReplayOptions) throws -> Stepped {
    let result = TracerThread.run(pinnedTo: nil) {
      Result { () throws -> Stepped in
        let session = try ReplaySession(options: options)
        try session.start(cpu: nil)
        var events: [TraceEvent] = []
        var replayed = 0
        while true {
          switch try session.step() {
          case .replayed(let event):
            events.append(event)
            replayed += 1
          case .passedOver(let event):
            events.append(event)
          case .finished(let outcome):
            // Stepping a finished replay says so again, and replays nothing.
            let again = [try session.step(), try session.step()]
            return Stepped(
              events: events, replayedCount: replayed, outcome: outcome,
              codePointsReached: session.codePointsReached, stepsAfterTheEnd: again)
          }
        }
      }
    }
    return try result.get()
  }

  static func traceEvents(_ trace: String) throws -> [TraceEvent] {
    let reader = try TraceReader(directory: trace)
    var events: [TraceEvent] = []
    while let event = try reader.nextEvent() { events.append(event) }
    return events
  }

  /// The events steps hand back: all but the first execve and exec (`start` replays them)
  /// and the exec events after an execve (its step replays them).
  static func eventsOfSteps(_ events: [TraceEvent]) -> [TraceEvent] {
    events.dropFirst(2).filter { if case .exec = $0 { false } else { true } }
  }

  @Test(arguments: ["fork_pipe_wait", "alarm_busy_loop", "threads_mutex", "exit_code"])
  func aSteppedReplayEndsAsRunDoes(fixture: String) throws {
    try Self.withWorkDirectory { work in
      let status: Int32 = fixture == "exit_code" ? 42 : 0
      let trace = try Self.record(fixture, in: work, status: status)
      let reader = try TraceReader(directory: trace)
      let summary = try #require(reader.summary, "the recording of \(fixture) finished")
      let all = try Self.traceEvents(trace)
      #expect(summary.eventCount == UInt64(all.count))

      // run(), in the rewind binary: it replays faithfully, and says how many code points.
      #expect(try Self.run([try Self.rewindPath(), "replay", "-a", "-q", trace]) == 0)
      struct Statistics: Decodable { var codePointsReached: Int }
      let statistics = try JSONDecoder().decode(
        Statistics.self,
        from: Data(contentsOf: URL(fileURLWithPath: trace + "/replay-stats.json")))

      let stepped = try Self.replayStepByStep(
        ReplayOptions(traceDirectory: trace, echoOutput: false))
      #expect(stepped.outcome.eventsReplayed == summary.eventCount)
      #expect(stepped.outcome.exitStatus == summary.exitStatus)
      #expect(stepped.outcome.exitStatus == .exited(code: status))
      #expect(!stepped.outcome.recordingEndedEarly)
      #expect(stepped.codePointsReached == statistics.codePointsReached)
      if fixture == "alarm_busy_loop" { #expect(stepped.codePointsReached >= 12) }
      // One event a step, in trace order, none skipped.
      #expect(stepped.events == Self.eventsOfSteps(all))
      #expect(stepped.replayedCount == stepped.events.count)
      for step in stepped.stepsAfterTheEnd {
        guard case .finished(let again) = step else {
          Issue.record("a step after the end returned \(step)")
          continue
        }
        #expect(again.eventsReplayed == stepped.outcome.eventsReplayed)
        #expect(again.exitStatus == stepped.outcome.exitStatus)
      }
    }
  }

  /// Replaying one child alone (`--process`) finishes right after that child's exit, with
  /// its status, and steps over the other processes' events without replaying them.
  @Test func aSteppedReplayOfOneProcessEndsAtItsExit() throws {
    try Self.withWorkDirectory { work in
      let trace = try Self.record("fork_pipe_wait", in: work)
      let table = try ProcessTable(reader: try TraceReader(directory: trace))
      try #require(table.processes.count == 5)
      let child = table.processes[2]
      #expect(child.exit == .exited(code: 11))
      let all = try Self.traceEvents(trace)
      let exitIndex = try #require(
        all.firstIndex {
          if case .exit(let e) = $0 { e.tid == child.pid } else { false }
        })
      let replayAlone = [try Self.rewindPath(), "replay", "-a", "-q", "--process", "\(child.pid)"]
      #expect(try Self.run(replayAlone + [trace]) == 0)

      let stepped = try Self.replayStepByStep(
        ReplayOptions(traceDirectory: trace, echoOutput: false, process: child.pid))
      #expect(stepped.outcome.exitStatus == .exited(code: 11))
      #expect(!stepped.outcome.recordingEndedEarly)
      // Nothing after the child's exit is read.
      #expect(stepped.outcome.eventsReplayed == UInt64(exitIndex + 1))
      #expect(stepped.events == Self.eventsOfSteps(Array(all[...exitIndex])))
      #expect(stepped.replayedCount < stepped.events.count)
    }
  }
}
