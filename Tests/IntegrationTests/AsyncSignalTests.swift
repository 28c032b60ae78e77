import Foundation
import Testing

/// Timer signals that land in a busy loop without system calls: replay must reach each at its
/// recorded code point, a pass among millions, and quickly (DESIGN.md, principle 4: the
/// in-process compare stub, not a hardware-breakpoint trap per pass).
@Suite struct AsyncSignalTests {
  /// SIGALRM from setitimer and from timer_create every 2 ms; the handler notes the loop
  /// counter. Each recording differs (timing), and each replays with the same counters.
  @Test(arguments: 1...5) func alarmsInABusyLoop(run: Int) throws {
    let result = try assertRecordReplay("alarm_busy_loop")
    #expect(result.record.stdout.contains("setitimer: 12 signals"), "\(result.record.summary)")
    #expect(result.record.stdout.contains("timer_create: 12 signals"), "\(result.record.summary)")
    let (stats, lastReplay) = try replayStatistics(result.traceDir)
    let reached = lastReplay["codePointsReached"] as? Int ?? 0
    #expect(reached >= 24, "every SIGALRM is a code point: \(stats.text)")
    // A point the thread already stands at (a signal right after the last one returned)
    // needs no stub; most do. With the hardware breakpoint alone, each pass of the loop
    // would trap (~20 µs): minutes for this fixture.
    #expect((lastReplay["codePointsReachedByStub"] as? Int ?? 0) > 0, "\(stats.text)")
    // (How fast is bench/code_points.sh's business, not a test's.)
    let text = try Harness.rewind(["stats", result.traceDir])
    #expect(text.stdout.contains("found by the compare stub, whose own rejected passes are not counted"), "\(text.stdout)")
  }

  /// Signals in a loop near an instruction that reads -8 off a register holding 0 (on a
  /// branch never taken): that operand's address wraps past the top of the address space,
  /// and a code point's signature must leave it out. Adding to it trapped, and rewind
  /// record died of SIGILL (seen twice under load, with python3 threads and the rseq
  /// fixture, before this fixture made it certain).
  @Test func alarmsNearAnOperandWhoseAddressWraps() throws {
    let result = try assertRecordReplay("wrapped_operand")
    #expect(result.record.stdout.contains("alarms seen: yes"), "\(result.record.summary)")
    let (stats, _) = try replayStatistics(result.traceDir)
    #expect((stats.object["codePoints"] as? Int ?? 0) > 0, "\(stats.text)")
  }

  /// Signals in a loop that changes only memory (a locked increment of a global): every
  /// pass has the same registers, and only the memory recorded with each code point tells
  /// the right one. Without it replay delivered each signal at the first pass and diverged.
  @Test(arguments: 1...3) func alarmsInALoopThatChangesOnlyMemory(run: Int) throws {
    let result = try assertRecordReplay("memory_only_loop")
    #expect(result.record.stdout.contains("counter at the signals: "), "\(result.record.summary)")
    let (stats, _) = try replayStatistics(result.traceDir)
    #expect((stats.object["codePointsWithMemory"] as? Int ?? 0) >= 8, "\(stats.text)")
  }

  /// Loops whose counter moves by a constant in a register, up and down, at 32 and 64 bits,
  /// from a value too wide for an imm32: replay finds each alarm's pass through the stub's
  /// fast lane (checked once a round of unrolled passes), so the counters must match.
  @Test(arguments: 1...3) func alarmsInLoopsWithAnInductionRegister(run: Int) throws {
    let result = try assertRecordReplay("induction_loops")
    #expect(result.record.stdout.contains("round 2: "), "\(result.record.summary)")
    let (stats, lastReplay) = try replayStatistics(result.traceDir)
    #expect((lastReplay["codePointsReachedByStub"] as? Int ?? 0) >= 3, "\(stats.text)")
  }

  /// A handler whose first call maps memory, right after a code point: replay must unmap
  /// the stub page it kept before that call, though the task's stop (a signal about to be
  /// delivered) allows no injected call.
  @Test(arguments: 1...2) func aHandlerThatMapsMemoryAfterACodePoint(run: Int) throws {
    let result = try assertRecordReplay("alarm_maps_in_handler")
    #expect(result.record.stdout.contains("5 or more signals, a page each"), "\(result.record.summary)")
    // The first alarm always lands in the loop, whose point the stub finds; later ones may
    // come right after a handler returns, when the machine is busy, and need no run.
    let (stats, lastReplay) = try replayStatistics(result.traceDir)
    #expect((lastReplay["codePointsReachedByStub"] as? Int ?? 0) >= 1, "\(stats.text)")
  }

  /// Alarms in a function with several entry points, where no 5-byte jump fits at the point
  /// the timer interrupts: the stub is reached through a 2-byte jump and a trampoline in the
  /// dead padding before the function, not a hardware breakpoint at every call.
  @Test(arguments: 1...2) func alarmsAtAPointWithNoRoomForAJump(run: Int) throws {
    let result = try assertRecordReplay("two_entries")
    #expect(result.record.stdout.contains("values at the signals: "), "\(result.record.summary)")
    let (stats, lastReplay) = try replayStatistics(result.traceDir)
    // Each point costs at most its two watched passes before the stub takes over; with a
    // hardware breakpoint at every call, a 2 ms interval holds thousands of passes. (How many
    // points the stub reaches depends on load: on a busy machine a signal may come within
    // two passes of the previous event, and the watched passes find it first.)
    let reached = lastReplay["codePointsReached"] as? Int ?? 0
    #expect(reached >= 8, "\(stats.text)")
    #expect((lastReplay["passesRejected"] as? Int ?? Int.max) <= 2 * reached, "\(stats.text)")
  }

  /// A timer's signal after an RDTSC: the frame's trap number is the thread's last trap,
  /// the RDTSC rewind served while recording (13) and the compare stub's int3 that found the
  /// signal's point in replay (3), so the printed frames differed. Both sides now make the
  /// thread take one int3 before such a signal: 3 on both.
  @Test func aTimersSignalFrameIsTheSameInReplay() throws {
    let result = try assertRecordReplay("signal_frame_trap")
    #expect(result.record.stdout.contains("the frame's trap number 3, error code 0"), "\(result.record.summary)")
  }

  /// A code point replay looks for far longer than expected (told here to expect 0.2 s):
  /// rewind says so, since a program that waits for that signal would run for ever if replay
  /// had passed its point; this one was only long, and the replay still ends faithfully.
  @Test func aLongSearchForACodePointIsAnnounced() throws {
    let result = try assertRecordReplay("late_alarm", args: ["700000"])
    let replay = try Harness.rewind(["replay", "-a", result.traceDir], env: ["REWIND_CODE_POINT_PATIENCE": "0.2"])
    #expect(replay.exitedNormally && replay.status == 0, "\(replay.summary)")
    #expect(replay.stdout == result.record.stdout, "\(replay.summary)")
    #expect(replay.stderr.contains("replay has looked for"), "\(replay.summary)")
    #expect(replay.stderr.contains("the point where event"), "\(replay.summary)")
    // A replay within the patience says nothing.
    #expect(!result.replay.stderr.contains("replay has looked for"), "\(result.replay.summary)")
  }

  /// SIGALRM landing inside libc's memcpy, memset and strlen, far from the program and often
  /// between two iterations of a `rep movsb` or `rep stosb`, which no pass starts at.
  @Test(arguments: 1...3) func alarmsInsideLibc(run: Int) throws {
    let result = try assertRecordReplay("alarm_in_libc")
    #expect(result.record.stdout.contains("20 signals; the loop had run"), "\(result.record.summary)")
    let (stats, lastReplay) = try replayStatistics(result.traceDir)
    #expect((lastReplay["codePointsReached"] as? Int ?? 0) >= 20, "\(stats.text)")
  }
}

/// `rewind stats --json` of a trace: the whole object and its text, and the statistics the
/// last replay left (code points reached, by the stub, passes rejected).
private func replayStatistics(_ traceDir: String, sourceLocation: SourceLocation = #_sourceLocation) throws
  -> (stats: (object: [String: Any], text: String), lastReplay: [String: Any])
{
  let stats = try Harness.rewind(["stats", "--json", traceDir])
  let object = try #require(
    try JSONSerialization.jsonObject(with: Data(stats.stdout.utf8)) as? [String: Any], sourceLocation: sourceLocation)
  return ((object, stats.stdout), object["lastReplay"] as? [String: Any] ?? [:])
}
