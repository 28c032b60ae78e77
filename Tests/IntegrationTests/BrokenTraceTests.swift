// Replay of a damaged or foreign directory must fail with a clear message and a
// nonzero exit, never with a Swift runtime trap or a signal.

import Foundation
import Testing
import TraceFormat

@Suite(.enabled(if: Harness.hasCompiler, "needs a C compiler: apt-get install gcc"))
struct BrokenTraceTests {
  /// Records `exit_code` into a fresh trace and returns its directory.
  func recordTrace() throws -> String {
    try assertRecordReplay("exit_code", expectedStatus: 42).traceDir
  }

  /// Every file named `events` (or `events.*`) in the trace; a trace has at least one.
  func eventFiles(in trace: String) throws -> [String] {
    let fm = FileManager.default
    let all = fm.subpaths(atPath: trace) ?? []
    let events = all.filter {
      let name = URL(fileURLWithPath: $0).lastPathComponent
      return name == "events" || name.hasPrefix("events.")
    }.map { trace + "/" + $0 }.filter { path in
      var isDir: ObjCBool = false
      return fm.fileExists(atPath: path, isDirectory: &isDir) && !isDir.boolValue
    }
    try #require(!events.isEmpty, "no `events` file in the trace; it holds: \(all.sorted())")
    return events
  }

  /// The replay failed cleanly: exited by itself with one of `statuses`, said why
  /// on stderr, and did not trap.
  func expectCleanFailure(
    _ result: ProcessResult, statuses: Set<Int32>, sourceLocation: SourceLocation = #_sourceLocation
  ) {
    #expect(
      result.exitedNormally, "rewind must not crash or hang\n\(result.summary)",
      sourceLocation: sourceLocation)
    #expect(
      statuses.contains(result.status), "expected exit status in \(statuses.sorted())\n\(result.summary)",
      sourceLocation: sourceLocation)
    #expect(
      !result.stderr.contains("Fatal error") && !result.stderr.contains("Stack dump"),
      "a Swift runtime crash is not an error message\n\(result.summary)",
      sourceLocation: sourceLocation)
    if result.status != 0 {
      #expect(
        !result.stderr.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty,
        "a failing replay must say why on stderr\n\(result.summary)", sourceLocation: sourceLocation)
    }
  }

  /// A trace cut short (a killed recorder leaves one) may replay up to its end
  /// and say it ended early (0 or 3), or be rejected (2); never crash.
  @Test func truncatedEvents() throws {
    let trace = try recordTrace()
    for path in try eventFiles(in: trace) {
      let handle = try #require(FileHandle(forUpdatingAtPath: path))
      let size = try handle.seekToEnd()
      try handle.truncate(atOffset: size / 2)
      try handle.close()
    }
    expectCleanFailure(try Harness.replay(trace), statuses: [0, 2, 3])
  }

  @Test func overwrittenEvents() throws {
    let trace = try recordTrace()
    for path in try eventFiles(in: trace) {
      var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
      try #require(bytes.count >= 4, "\(path) has only \(bytes.count) bytes")
      let count = min(64, max(4, bytes.count / 4))
      let start = bytes.count / 2 - count / 2
      for i in start..<(start + count) { bytes[i] = bytes[i] ^ 0xA5 }
      try bytes.write(to: URL(fileURLWithPath: path))
    }
    expectCleanFailure(try Harness.replay(trace), statuses: [2])
  }

  @Test func plainDirectory() throws {
    let dir = try Harness.makeWorkDir("not-a-trace")
    try Data("just some notes\n".utf8).write(to: URL(fileURLWithPath: dir + "/notes.txt"))
    var generator = SystemRandomNumberGenerator()
    let noise = Data((0..<4096).map { _ in UInt8.random(in: 0...255, using: &generator) })
    try noise.write(to: URL(fileURLWithPath: dir + "/data.bin"))
    try noise.write(to: URL(fileURLWithPath: dir + "/events"))
    expectCleanFailure(try Harness.replay(dir), statuses: [2])
  }

  @Test func emptyDirectory() throws {
    let dir = try Harness.makeWorkDir("empty-dir")
    expectCleanFailure(try Harness.replay(dir), statuses: [2])
  }

  @Test func nonexistentPath() throws {
    let path = Harness.runDir.appendingPathComponent("no-such-trace-\(UUID().uuidString)").path
    let result = try Harness.replay(path)
    expectCleanFailure(result, statuses: [2])
    #expect(result.stderr.contains(path), "the message should name the path\n\(result.summary)")
  }

  /// A reader rejects a format version it does not understand.
  @Test func unknownFormatVersion() throws {
    let trace = try recordTrace()
    let headerURL = URL(fileURLWithPath: trace + "/header.json")
    let object = try JSONSerialization.jsonObject(with: Data(contentsOf: headerURL))
    var header = try #require(object as? [String: Any], "header.json is not a JSON object")
    try #require(
      header["formatVersion"] != nil, "header.json has no formatVersion; keys: \(header.keys.sorted())")
    header["formatVersion"] = 999
    try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys]).write(to: headerURL)
    let result = try Harness.replay(trace)
    expectCleanFailure(result, statuses: [2])
    #expect(result.stderr.contains("999"), "the message should name the version found\n\(result.summary)")
  }

  /// `trace` rewritten through the reader and writer into a new directory, with
  /// `change` applied to each event, and its saved files copied.
  func rewrite(_ trace: String, _ change: (TraceEvent) -> TraceEvent) throws -> String {
    let copy = trace + "-rewritten"
    let reader = try TraceReader(directory: trace)
    let writer = try TraceWriter(directory: copy, header: reader.header)
    while let event = try reader.nextEvent() { writer.append(change(event)) }
    try writer.finish(summary: try #require(reader.summary))
    try FileManager.default.removeItem(atPath: copy + "/files")
    try FileManager.default.copyItem(atPath: trace + "/files", toPath: copy + "/files")
    return copy
  }

  /// A trace whose first signal event `change` damaged: the reader must call it corrupted
  /// (exit 2, naming the field), where replay used to trap on the value.
  func expectDamagedSignalRejected(
    _ change: (inout SignalEvent) -> Void, naming field: String,
    sourceLocation: SourceLocation = #_sourceLocation
  ) throws {
    // raise_usr1 dies of the SIGUSR1 it sends itself: a signal event replay sends again.
    let result = try assertRecordReplay("raise_usr1", expectedStatus: 138, printsExitSuccess: false)
    var damaged: UInt64?
    let trace = try rewrite(result.traceDir) { event in
      guard damaged == nil, case .signal(var e) = event else { return event }
      change(&e)
      damaged = e.index
      return .signal(e)
    }
    let index = try #require(damaged, "the recording has no signal event")
    let replay = try Harness.replay(trace)
    expectCleanFailure(replay, statuses: [2], sourceLocation: sourceLocation)
    #expect(
      replay.stderr.contains("is corrupted") && replay.stderr.contains("event \(index)")
        && replay.stderr.contains(field),
      "the message should say the trace is damaged, at which event and field\n\(replay.summary)",
      sourceLocation: sourceLocation)
  }

  /// A code point's memory word of 9 bytes (words are 1, 2, 4 or 8).
  @Test func codePointWordOfNineBytes() throws {
    try expectDamagedSignalRejected(
      { $0.memory.append(CodePointMemory(address: $0.registers.rsp, size: 9, value: 0)) },
      naming: "has size 9; words are 1, 2, 4 or 8 bytes")
  }

  /// A siginfo of 100 bytes (siginfo_t is 128).
  @Test func siginfoOfAHundredBytes() throws {
    try expectDamagedSignalRejected(
      { $0.siginfo = Array($0.siginfo.prefix(100)) }, naming: "siginfo is 100 bytes")
  }

  /// header.json with `change` applied to its JSON object.
  func editHeader(_ trace: String, _ change: (inout [String: Any]) -> Void) throws {
    let url = URL(fileURLWithPath: trace + "/header.json")
    var header = try #require(
      try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
    change(&header)
    try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys]).write(to: url)
  }

  /// A recording from another CPU model replays (glibc may still choose other string
  /// functions there), with a warning naming both models.
  @Test func otherCPUModelWarns() throws {
    let result = try assertRecordReplay("exit_code", expectedStatus: 42, printsExitSuccess: false)
    let here = try TraceReader(directory: result.traceDir).header.cpuModel
    let foreign = "Imaginary CPU 9000 @ 1.00GHz"
    try editHeader(result.traceDir) { $0["cpuModel"] = foreign }
    let replay = try Harness.replay(result.traceDir)
    #expect(replay.exitedNormally && replay.status == 0, "\(replay.summary)")
    let warning = replay.stderr.split(separator: "\n").first { $0.contains("warning") }
    #expect(
      warning.map { $0.contains(foreign) && $0.contains(here) } == true,
      "the warning should name both CPU models\n\(replay.summary)")
  }

  /// A trace recorded with another system call table: replay says which tables and rewinds
  /// differ.
  @Test func otherSyscallTableWarns() throws {
    let result = try assertRecordReplay("exit_code", expectedStatus: 42, printsExitSuccess: false)
    let header = try TraceReader(directory: result.traceDir).header
    try editHeader(result.traceDir) {
      $0["syscallTableHash"] = "0123456789abcdef"
      $0["rewindVersion"] = "0.0.1-older"
      $0["cpuModel"] = "Imaginary CPU 9000 @ 1.00GHz"
    }
    let replay = try Harness.replay(result.traceDir)
    #expect(replay.exitedNormally && replay.status == 0, "\(replay.summary)")
    let warnings = replay.stderr.split(separator: "\n").filter { $0.contains("warning") }
    #expect(warnings.count == 2, "one warning for the CPU, one for the table\n\(replay.summary)")
    #expect(
      warnings.contains {
        $0.contains("0123456789abcdef") && $0.contains(header.syscallTableHash)
          && $0.contains("0.0.1-older")
      }, "the warning should name both tables and the recording rewind\n\(replay.summary)")
  }
}
