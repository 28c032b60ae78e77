// Support for the record/replay tests: find the built `rewind`, compile the C
// fixtures in Tests/Fixtures once per test run, and run processes with a timeout.
//
// Like rr's `compare_test`, a record/replay test records a fixture, replays the
// trace with `rewind replay -a` (no gdb), and compares what the two runs wrote.
// Every process gets its own files for stdin/stdout/stderr instead of pipes, so a
// chatty child can never block on a full pipe while we wait for it.
//
// Each test works in a directory of its own under one per-run directory, with
// its own copy of the fixture executable, so tests can run in parallel and may
// delete or change what they were given. REWIND_TRACE_DIR always points into the
// per-run directory (each record/replay test has its own) so no test writes to
// the user's home.

import Foundation
import Testing

/// What one child process did.
struct ProcessResult {
  var command: [String]
  /// The exit status, or the signal number when `reason == .uncaughtSignal`.
  var status: Int32
  var reason: Process.TerminationReason
  var stdout: String
  var stderr: String
  var timedOut: Bool

  /// True when the process exited by itself (no signal, no timeout): a Swift
  /// runtime trap in `rewind` shows up as SIGILL or SIGTRAP instead.
  var exitedNormally: Bool { reason == .exit && !timedOut }

  var summary: String {
    let how = timedOut ? "timed out" : reason == .exit ? "exit \(status)" : "signal \(status)"
    return "$ \(command.joined(separator: " "))\n[\(how)]\n--- stdout ---\n\(stdout)"
      + "--- stderr ---\n\(stderr)"
  }
}

/// What `assertRecordReplay` saw, for tests that check more.
struct RecordReplayResult {
  var record: ProcessResult
  var replay: ProcessResult
  var traceDir: String
  /// The executable that was recorded (for a fixture, a per-test copy).
  var executable: String
  /// The test's own scratch directory.
  var workDir: String
}

/// One row of `rewind ps --json`.
struct TraceProcess: Decodable, Equatable {
  var pid: Int32
  /// nil for the root.
  var ppid: Int32?
  /// nil when a signal killed it, or when the trace ends before it exited.
  var exitCode: Int32?
  /// The name of the signal that killed it (`SIGSEGV`), else nil.
  var signal: String?
  /// The argv of its last exec (its parent's for a child that never exec'd).
  var command: [String]
}

/// A started process, its stdio in files of its own; `finish` waits for it.
final class BackgroundProcess {
  let command: [String]
  private var process = Process()
  private let io: URL
  private let handles: [FileHandle]
  private let outPath: String
  private let errPath: String

  init(_ command: [String], stdin: Data?, env: [String: String], cwd: String) throws {
    self.command = command
    let fm = FileManager.default
    io = Harness.runDir.appendingPathComponent("io-\(UUID().uuidString)")
    outPath = io.appendingPathComponent("stdout").path
    errPath = io.appendingPathComponent("stderr").path
    try fm.createDirectory(at: io, withIntermediateDirectories: true)
    let inPath = io.appendingPathComponent("stdin").path
    for (path, contents) in [(outPath, Data()), (errPath, Data()), (inPath, stdin ?? Data())] {
      guard fm.createFile(atPath: path, contents: contents) else {
        throw HarnessError.spawnFailed(command, "cannot create \(path)")
      }
    }
    process.executableURL = URL(fileURLWithPath: command[0])
    process.arguments = Array(command.dropFirst())
    var environment = ProcessInfo.processInfo.environment
    environment["REWIND_TRACE_DIR"] = Harness.traceRoot
    environment.merge(env) { _, new in new }
    process.environment = environment
    process.currentDirectoryURL = URL(fileURLWithPath: cwd)
    guard let input = FileHandle(forReadingAtPath: stdin == nil ? "/dev/null" : inPath),
      let output = FileHandle(forWritingAtPath: outPath),
      let errors = FileHandle(forWritingAtPath: errPath)
    else { throw HarnessError.spawnFailed(command, "cannot open its stdio files in \(io.path)") }
    handles = [input, output, errors]
    process.standardInput = input
    process.standardOutput = output
    process.standardError = errors
    // ETXTBSY: tests run in parallel threads, and a process forked by another test at the
    // moment a file was open for writing can hold that descriptor for a while; exec of the
    // file then fails briefly. A retry is what a person would do.
    var attempts = 0
    while true {
      do {
        try process.run()
        return
      } catch let error as NSError where Harness.isTextFileBusy(error) && attempts < 10 {
        attempts += 1
        usleep(100_000)
        // A Process is launched once; a fresh one, configured alike, for the next try.
        let retry = Process()
        retry.executableURL = process.executableURL
        retry.arguments = process.arguments
        retry.environment = process.environment
        retry.currentDirectoryURL = process.currentDirectoryURL
        retry.standardInput = process.standardInput
        retry.standardOutput = process.standardOutput
        retry.standardError = process.standardError
        process = retry
      } catch {
        closeAndRemove()
        throw HarnessError.spawnFailed(command, "\(error)")
      }
    }
  }

  /// A test that gave up on it (a failed `#require`) must not leave it running.
  deinit {
    if process.isRunning {
      kill(process.processIdentifier, SIGKILL)
      process.waitUntilExit()
    }
    closeAndRemove()
  }

  var isRunning: Bool { process.isRunning }
  var processIdentifier: Int32 { process.processIdentifier }

  /// What it wrote to stdout so far.
  func stdout() -> String {
    String(decoding: FileManager.default.contents(atPath: outPath) ?? Data(), as: UTF8.self)
  }

  /// What it wrote to stderr so far.
  func stderr() -> String {
    String(decoding: FileManager.default.contents(atPath: errPath) ?? Data(), as: UTF8.self)
  }

  /// Waits up to `timeout` seconds for a stdout (or stderr) line starting with `prefix`;
  /// returns that line, or nil if it never came or the process ended first.
  func waitForLine(startingWith prefix: String, timeout: TimeInterval, inStandardError: Bool = false) -> Substring? {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
      let running = process.isRunning
      let text = inStandardError ? stderr() : stdout()
      // Only complete lines: the rest may still be being written.
      let complete = text.hasSuffix("\n") ? text[...] : text[..<(text.lastIndex(of: "\n") ?? text.startIndex)]
      if let line = complete.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }) { return line }
      if !running { return nil }
      usleep(5_000)
    }
    return nil
  }

  /// Waits for it to exit, killing it after `timeout` seconds (SIGTERM, then
  /// SIGKILL after 3 s), and returns what it did.
  func finish(timeout: TimeInterval = Harness.timeout) -> ProcessResult {
    defer { closeAndRemove() }
    let deadline = Date().addingTimeInterval(timeout)
    var timedOut = false
    while process.isRunning {
      if Date() > deadline {
        timedOut = true
        process.terminate()  // SIGTERM first, so rewind can take its tracee down with it
        let grace = Date().addingTimeInterval(3)
        while process.isRunning && Date() < grace { usleep(10_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        break
      }
      usleep(5_000)
    }
    process.waitUntilExit()
    func text(_ path: String) -> String {
      String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self)
    }
    return ProcessResult(
      command: command, status: process.terminationStatus, reason: process.terminationReason,
      stdout: text(outPath), stderr: text(errPath), timedOut: timedOut)
  }

  private func closeAndRemove() {
    for handle in handles { try? handle.close() }
    try? FileManager.default.removeItem(at: io)
  }
}

enum HarnessError: Error, CustomStringConvertible {
  case missingRewind(String)
  case compileFailed(String, ProcessResult)
  case spawnFailed([String], String)
  case commandFailed(String, ProcessResult)

  var description: String {
    switch self {
    case .missingRewind(let path):
      "No rewind binary at \(path).\nFix: run `swift build` first (or set REWIND_BIN to a built rewind)."
    case .compileFailed(let name, let result):
      "Could not compile fixture \(name):\n\(result.summary)"
    case .spawnFailed(let command, let why):
      "Could not start \(command.joined(separator: " ")): \(why)"
    case .commandFailed(let what, let result):
      "\(what) failed:\n\(result.summary)"
    }
  }
}

enum Harness {
  /// The package root, three levels above this file (Tests/IntegrationTests/Harness.swift).
  static let packageRoot: URL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

  static let fixturesDir: URL = packageRoot.appendingPathComponent("Tests/Fixtures")

  /// Per-process timeout: generous, since a ptrace stop costs tens of µs here.
  static let timeout: TimeInterval = 60

  /// `$REWIND_BIN`, else `rewind` next to the test runner (the build products
  /// directory of this very build), else `<root>/.build/debug/rewind`.
  /// Whether spawning failed with ETXTBSY ("Text file busy").
  static func isTextFileBusy(_ error: NSError) -> Bool {
    let underlying = error.userInfo[NSUnderlyingErrorKey] as? NSError
    return (error.domain == NSPOSIXErrorDomain && error.code == Int(ETXTBSY))
      || (underlying?.domain == NSPOSIXErrorDomain && underlying?.code == Int(ETXTBSY))
  }

  static func rewindPath() throws -> String {
    let fm = FileManager.default
    if let path = ProcessInfo.processInfo.environment["REWIND_BIN"], !path.isEmpty {
      guard fm.isExecutableFile(atPath: path) else { throw HarnessError.missingRewind(path) }
      return path
    }
    if let runner = try? fm.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
      let sibling = URL(fileURLWithPath: runner).deletingLastPathComponent()
        .appendingPathComponent("rewind").path
      if fm.isExecutableFile(atPath: sibling) { return sibling }
    }
    let fallback = packageRoot.appendingPathComponent(".build/debug/rewind").path
    guard fm.isExecutableFile(atPath: fallback) else { throw HarnessError.missingRewind(fallback) }
    return fallback
  }

  /// Whether a C compiler is installed, for `.enabled(if:)`.
  static let hasCompiler: Bool = {
    let result = try? run(["/usr/bin/env", compiler, "--version"], timeout: 20)
    return result?.status == 0 && result?.reason == .exit
  }()

  static var compiler: String { ProcessInfo.processInfo.environment["CC"] ?? "cc" }

  /// One directory per test run; removed runs of dead test processes are swept.
  static let runDir: URL = {
    let fm = FileManager.default
    let base = fm.temporaryDirectory
    let prefix = "rewind-integration-"
    // A run directory is named after its pid; sweep the ones whose process is gone.
    for name in (try? fm.contentsOfDirectory(atPath: base.path)) ?? [] where name.hasPrefix(prefix) {
      if let pid = Int32(name.dropFirst(prefix.count)), kill(pid, 0) != 0, errno == ESRCH {
        try? fm.removeItem(at: base.appendingPathComponent(name))
      }
    }
    let dir = base.appendingPathComponent("\(prefix)\(getpid())")
    try? fm.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
  }()

  /// The default trace directory of rewind runs that do not choose their own.
  static var traceRoot: String { runDir.appendingPathComponent("traces").path }

  /// A new, empty directory for one test.
  static func makeWorkDir(_ label: String) throws -> String {
    let dir = runDir.appendingPathComponent("\(label)-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir.path
  }

  // MARK: Fixtures

  private final class FixtureCache: @unchecked Sendable {
    let lock = NSLock()
    var built: [String: Result<String, HarnessError>] = [:]
  }
  private static let cache = FixtureCache()

  /// Compiles Tests/Fixtures/`name`.c once per test run and returns the executable.
  static func fixture(_ name: String) throws -> String {
    try compile(fixturesDir.appendingPathComponent("\(name).c").path, as: name)
  }

  /// Compiles the C file at `source` (an example's, say) once per test run into an
  /// executable called `name` and returns its path.
  static func compile(_ source: String, as name: String) throws -> String {
    cache.lock.lock()
    defer { cache.lock.unlock() }
    if let built = cache.built[name] { return try built.get() }
    let binDir = runDir.appendingPathComponent("fixtures")
    try FileManager.default.createDirectory(at: binDir, withIntermediateDirectories: true)
    let output = binDir.appendingPathComponent(name).path
    let result = try run(["/usr/bin/env", compiler, "-O0", "-g", "-Wall", "-o", output, source])
    let outcome: Result<String, HarnessError> =
      result.status == 0 && result.exitedNormally
      ? .success(output) : .failure(.compileFailed(name, result))
    cache.built[name] = outcome
    return try outcome.get()
  }

  /// Copies the compiled fixture into `dir`, so a test may delete or replace it.
  static func fixtureCopy(_ name: String, in dir: String) throws -> String {
    let copy = URL(fileURLWithPath: dir).appendingPathComponent(name).path
    try FileManager.default.copyItem(atPath: try fixture(name), toPath: copy)
    return copy
  }

  // MARK: Processes

  /// Runs `command` (the first element is the executable's path) and waits for
  /// it, killing it after `timeout` seconds. Stdin is `/dev/null` unless given.
  static func run(
    _ command: [String], stdin: Data? = nil, env: [String: String] = [:],
    cwd: String? = nil, timeout: TimeInterval = Harness.timeout
  ) throws -> ProcessResult {
    try start(command, stdin: stdin, env: env, cwd: cwd).finish(timeout: timeout)
  }

  /// Starts `command` without waiting for it; `finish` waits (and cleans up).
  static func start(
    _ command: [String], stdin: Data? = nil, env: [String: String] = [:], cwd: String? = nil
  ) throws -> BackgroundProcess {
    try BackgroundProcess(command, stdin: stdin, env: env, cwd: cwd ?? runDir.path)
  }

  /// `name` if it is a path, else the first executable of that name on PATH.
  static func which(_ name: String) -> String? {
    if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    return path.split(separator: ":").map { "\($0)/\(name)" }
      .first { FileManager.default.isExecutableFile(atPath: $0) }
  }

  /// Runs the rewind binary with `arguments`.
  static func rewind(
    _ arguments: [String], stdin: Data? = nil, env: [String: String] = [:], cwd: String? = nil
  ) throws -> ProcessResult {
    try run([try rewindPath()] + arguments, stdin: stdin, env: env, cwd: cwd)
  }

  /// `rewind replay -a DIR`, never reading a terminal: stdin is `/dev/null`, and
  /// the working directory and REWIND_FIXTURE_VAR differ from the recording's, so
  /// a replay that consulted the live environment instead of the trace shows.
  static func replay(_ traceDir: String, extraArguments: [String] = [], stdin: Data? = nil)
    throws -> ProcessResult
  {
    try rewind(
      ["replay", "-a"] + extraArguments + [traceDir], stdin: stdin,
      env: ["REWIND_FIXTURE_VAR": "seen-by-replay-but-must-not-reach-the-program"], cwd: "/")
  }

  /// `rewind ps DIR --json`, decoded: the processes of a trace in creation order.
  static func ps(_ traceDir: String) throws -> [TraceProcess] {
    let result = try rewind(["ps", traceDir, "--json"])
    guard result.exitedNormally && result.status == 0 else {
      throw HarnessError.commandFailed("rewind ps --json", result)
    }
    do {
      return try JSONDecoder().decode([TraceProcess].self, from: Data(result.stdout.utf8))
    } catch {
      throw HarnessError.commandFailed("decoding rewind ps --json (\(error))", result)
    }
  }

  /// The lines of a recording's stderr that the program wrote: everything but
  /// rewind's own messages, which start with "rewind".
  static func programLines(_ stderr: String) -> [Substring] {
    stderr.split(separator: "\n").filter { !$0.hasPrefix("rewind") && !$0.hasPrefix("[rewind") }
  }
}

/// Records fixture `name` (a per-test copy of it) into `<work>/trace-<name>`,
/// checks the exit status, runs `between`, replays with `rewind replay -a`, and
/// checks that the replay was faithful: exit 0, the same stdout, every line the
/// program wrote to stderr, and `EXIT-SUCCESS` when the fixture prints it.
@discardableResult
func assertRecordReplay(
  _ name: String, args: [String] = [], stdin: Data? = nil, env: [String: String] = [:],
  expectedStatus: Int32 = 0, printsExitSuccess: Bool = true,
  between: ((_ traceDir: String, _ exe: String) throws -> Void)? = nil,
  sourceLocation: SourceLocation = #_sourceLocation
) throws -> RecordReplayResult {
  let work = try Harness.makeWorkDir(name)
  let exe = try Harness.fixtureCopy(name, in: work)
  return try assertRecordReplayCommand(
    name, [exe] + args, work: work, stdin: stdin, env: env, expectedStatus: expectedStatus,
    printsExitSuccess: printsExitSuccess, between: between.map { between in { try between($0, exe) } },
    sourceLocation: sourceLocation)
}

/// `assertRecordReplay` for any command (`command[0]` an absolute path), run
/// in `work` (default: a new directory named after `label`), traced into
/// `<work>/trace-<label>`.
@discardableResult
func assertRecordReplayCommand(
  _ label: String, _ command: [String], work: String? = nil, stdin: Data? = nil,
  env: [String: String] = [:], expectedStatus: Int32 = 0, printsExitSuccess: Bool = true,
  between: ((_ traceDir: String) throws -> Void)? = nil,
  sourceLocation: SourceLocation = #_sourceLocation
) throws -> RecordReplayResult {
  let work = try work ?? Harness.makeWorkDir(label)
  let trace = URL(fileURLWithPath: work).appendingPathComponent("trace-\(label)").path

  // A default trace directory of its own, so parallel tests never share `latest-trace`.
  let env = env.merging(["REWIND_TRACE_DIR": work + "/traces"]) { given, _ in given }
  let record = try Harness.rewind(["record", "-o", trace] + command, stdin: stdin, env: env, cwd: work)
  try #require(
    record.exitedNormally && record.status == expectedStatus,
    "record should exit \(expectedStatus)\n\(record.summary)", sourceLocation: sourceLocation)
  if printsExitSuccess {
    #expect(
      record.stdout.contains("EXIT-SUCCESS"), "the fixture did not finish\n\(record.summary)",
      sourceLocation: sourceLocation)
  }

  try between?(trace)
  let replay = try Harness.replay(trace)
  #expect(
    replay.exitedNormally && replay.status == 0,
    "replay should exit 0 (faithful)\n\(replay.summary)", sourceLocation: sourceLocation)
  #expect(
    replay.stdout == record.stdout, "replay stdout differs from record stdout",
    sourceLocation: sourceLocation)
  let replayLines = Set(replay.stderr.split(separator: "\n"))
  for line in Harness.programLines(record.stderr) {
    #expect(
      replayLines.contains(line), "replay stderr lacks the recorded line \"\(line)\"\n\(replay.summary)",
      sourceLocation: sourceLocation)
  }
  if printsExitSuccess {
    #expect(replay.stdout.contains("EXIT-SUCCESS"), sourceLocation: sourceLocation)
  }
  #expect(!replay.stderr.contains("Fatal error"), "\(replay.summary)", sourceLocation: sourceLocation)
  return RecordReplayResult(
    record: record, replay: replay, traceDir: trace, executable: command[0], workDir: work)
}
