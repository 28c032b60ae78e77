import Foundation
import Testing
import TraceFormat

/// Replay stays faithful when what the kernel loads changed, and reports divergence when
/// the recording and the replay part.
@Suite struct ReplayIntegrityTests {
  /// The kernel maps the program's dynamic loader from the file system. Replay must use the
  /// recorded one even after the file there changed.
  @Test func loaderChangedBeforeReplay() throws {
    let work = try Harness.makeWorkDir("loader-changed")
    let loader = work + "/ld-copy.so"
    try FileManager.default.copyItem(atPath: "/lib64/ld-linux-x86-64.so.2", toPath: loader)
    let exe = work + "/environment-own-loader"
    let source = Harness.fixturesDir.appendingPathComponent("environment.c").path
    let compile = try Harness.run(["/usr/bin/env", Harness.compiler, "-O0", "-o", exe, source, "-Wl,--dynamic-linker=\(loader)"])
    try #require(compile.exitedNormally && compile.status == 0, "\(compile.summary)")
    let trace = work + "/trace"
    let record = try Harness.rewind(["record", "-o", trace, exe])
    try #require(record.exitedNormally && record.status == 0, "\(record.summary)")
    // Still a working loader, but no longer the recorded file.
    let handle = try #require(FileHandle(forWritingAtPath: loader))
    handle.seekToEndOfFile()
    handle.write(Data(repeating: 0x5a, count: 8192))
    try handle.close()
    let replay = try Harness.replay(trace)
    #expect(replay.exitedNormally && replay.status == 0, "\(replay.summary)")
    #expect(replay.stdout == record.stdout)
  }

  /// A trace whose recorded registers disagree with what the program does must stop replay
  /// with a report naming the event and the difference, and exit 3.
  /// ^C during `replay -a` reaches rewind and the replayed program (one process group, as
  /// at a terminal): replay stops with a message that it was interrupted, not a divergence
  /// report, exits 130, and leaves no process behind.
  @Test func interruptedReplayStopsCleanly() throws {
    let work = try Harness.makeWorkDir("interrupt")
    let exe = try Harness.fixtureCopy("busy_count", in: work)
    let trace = work + "/trace"
    let record = try Harness.rewind(["record", "-o", trace, exe, "1500000000"], cwd: work)
    try #require(record.exitedNormally && record.status == 0, "\(record.summary)")
    // A handler, not SIG_IGN, so that the processes bash starts take SIGINT as usual.
    let script = "trap : INT; \(try Harness.rewindPath()) replay -a \(trace) & sleep 0.3; kill -INT 0; wait $!; echo status $?"
    let result = try Harness.run(["/usr/bin/setsid", "bash", "-c", script], cwd: work)
    #expect(result.stdout.contains("status 130"), "\(result.summary)")
    #expect(result.stderr.contains("replay interrupted by SIGINT at event"), "\(result.summary)")
    #expect(!result.stderr.contains("diverged"), "\(result.summary)")
    let left = try Harness.run(["/usr/bin/pgrep", "-f", exe])
    #expect(left.stdout.isEmpty, "left behind: \(left.stdout)")
  }

  @Test func divergenceIsReported() throws {
    let result = try assertRecordReplay("exit_code", expectedStatus: 42, printsExitSuccess: false)
    let tampered = result.workDir + "/tampered"
    let reader = try TraceReader(directory: result.traceDir)
    let writer = try TraceWriter(directory: tampered, header: reader.header)
    var changedEvent: UInt64?
    while let event = try reader.nextEvent() {
      if changedEvent == nil, case .syscall(var e) = event, e.number == 1 {  // the first write
        e.entryRegisters.rdx += 1  // the byte count the program passes
        changedEvent = e.index
        writer.append(.syscall(e))
      } else {
        writer.append(event)
      }
    }
    try writer.finish(summary: try #require(reader.summary))
    try FileManager.default.removeItem(atPath: tampered + "/files")
    try FileManager.default.copyItem(atPath: result.traceDir + "/files", toPath: tampered + "/files")
    let index = try #require(changedEvent)
    let replay = try Harness.replay(tampered)
    #expect(replay.exitedNormally && replay.status == 3, "\(replay.summary)")
    #expect(replay.stderr.contains("diverged from the recording at event \(index)"), "\(replay.summary)")
    #expect(replay.stderr.contains("syscall write"), "\(replay.summary)")
    #expect(replay.stderr.contains("rdx: recorded"), "\(replay.summary)")
  }
}
