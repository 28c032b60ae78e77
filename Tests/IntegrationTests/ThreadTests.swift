import Foundation
import Testing

/// Threads of one process run one at a time while recording; replay reproduces the order
/// they took a mutex in, which differs from run to run. The fixtures issue 7 names are each
/// recorded and replayed 5 times, since their interleavings differ from run to run.
@Suite struct ThreadTests {
  @Test(arguments: 1...5) func mutexAndConditionVariable(run: Int) throws {
    let result = try assertRecordReplay("threads_mutex")
    #expect(result.record.stdout.contains("counter 200\n"), "\(result.record.summary)")
    #expect(result.record.stdout.contains("consumed 40: "), "\(result.record.summary)")
    let processes = try Harness.ps(result.traceDir)
    #expect(processes.count == 1, "threads are not processes: \(processes)")
    let alone = try assertReplayProcess(result.traceDir, processes[0].pid)
    #expect(alone.stdout == result.record.stdout, "\(alone.summary)")
  }

  /// Threads spinning on an atomic: recording preempts the spinner at a code point, and
  /// replay stops it there again.
  @Test(arguments: 1...5) func spinHandoff(run: Int) throws {
    let result = try assertRecordReplay("spin_handoff")
    #expect(result.record.stdout.contains("passes 5 5\n"), "\(result.record.summary)")
    let stats = try Harness.rewind(["stats", "--json", result.traceDir])
    let object = try #require(try JSONSerialization.jsonObject(with: Data(stats.stdout.utf8)) as? [String: Any])
    #expect((object["preemptions"] as? Int ?? 0) > 0, "the spinner was never preempted: \(stats.stdout)")
    // The replay (by assertRecordReplay) left how ambiguous the code points were.
    let lastReplay = try #require(object["lastReplay"] as? [String: Any], "\(stats.stdout)")
    #expect((lastReplay["codePointsReached"] as? Int ?? 0) >= (object["preemptions"] as? Int ?? 0))
    #expect(lastReplay["passesRejected"] is Int)
  }

  /// Threads preempted in a hot loop the program wrote at run time, laid out as a JIT lays
  /// it out (data before the code, a jmp to the loop's condition, short instructions before
  /// it): replay finds each point with the compare stub, patched from an earlier
  /// instruction of the loop. It fell back to a hardware breakpoint there, a trap a pass:
  /// about a minute a point, against a fifth of a second for the whole recording.
  @Test(arguments: 1...3) func preemptedInAJITLoop(run: Int) throws {
    let result = try assertRecordReplay("jit_loop")
    #expect(result.record.stdout.contains("shared counter 40000000\n"), "\(result.record.summary)")
    let stats = try Harness.rewind(["stats", "--json", result.traceDir])
    let object = try #require(try JSONSerialization.jsonObject(with: Data(stats.stdout.utf8)) as? [String: Any])
    let preemptions = object["preemptions"] as? Int ?? 0
    #expect(preemptions > 0, "no thread was preempted in the loop: \(stats.stdout)")
    let lastReplay = try #require(object["lastReplay"] as? [String: Any], "\(stats.stdout)")
    #expect((lastReplay["codePointsReachedByStub"] as? Int ?? 0) > 0, "\(stats.stdout)")
    // Two watched passes a point before its stub; a point searched pass by pass with the
    // hardware breakpoint rejects hundreds of thousands.
    #expect((lastReplay["passesRejected"] as? Int ?? .max) <= 2 * preemptions, "\(stats.stdout)")
  }

  /// Threads preempted in a loop most of whose instructions no compare stub fits (each a
  /// `jo` rel8 landing two instructions on, as in HotSpot's interpreter templates): replay
  /// searched such a point with the hardware breakpoint, hundreds of thousands of passes a
  /// point (a 0.1 s recording did not replay in a minute). Recording now steps a preempted
  /// thread on to an instruction a stub fits, so no point lands in the `jo` chain.
  @Test(arguments: 1...2) func preemptedWhereNoStubFits(run: Int) throws {
    let result = try assertRecordReplay("unpatchable_loop", args: ["5000000"])
    let loop = try #require(lastAddress(onLineStarting: "loop at ", in: result.record.stdout), "\(result.record.summary)")
    let rips = try preemptionAddresses(result.traceDir)
    #expect(!rips.isEmpty, "no thread was preempted in the loop")
    let unpatchable = (loop + 0x05)..<(loop + 0x37)
    #expect(
      !rips.contains(where: unpatchable.contains),
      "preemptions in the jo chain at \(String(loop + 5, radix: 16)): \(rips.map { String($0, radix: 16) })")
    let stats = try Harness.rewind(["stats", "--json", result.traceDir])
    let object = try #require(try JSONSerialization.jsonObject(with: Data(stats.stdout.utf8)) as? [String: Any])
    let lastReplay = try #require(object["lastReplay"] as? [String: Any], "\(stats.stdout)")
    #expect((lastReplay["passesRejected"] as? Int ?? .max) <= 2 * rips.count, "\(stats.stdout)")
  }

  /// rseq(2) is emulated: glibc's registration succeeds (strace shows `= 0` too), the CPU in
  /// the area is the one the process is pinned to, and no preemption or timer signal lands
  /// inside a critical section, which the kernel would have aborted. Without that, a thread
  /// preempted between the fixture's load and commit stored a stale count over the other
  /// thread's whole timeslice (a quarter of 40 million bumps lost, 3 runs in 3).
  @Test(arguments: 1...2) func rseqCriticalSectionsAreNeverCutShort(run: Int) throws {
    let result = try assertRecordReplay("rseq_counters", args: ["10000000"])
    // The answers the kernel gives (EBUSY, EINVAL, EPERM), checked against a native run.
    for line in [
      "rseq registered: yes", "registered again: -1 Device or resource busy", "another area: -1 Invalid argument",
      "unregistered with another signature: -1 Operation not permitted", "cpu_id is the kernel's: yes", "no bump lost: yes",
    ] {
      #expect(result.record.stdout.contains(line), "\(result.record.summary)")
    }
    let dump = try Harness.rewind(["dump", result.traceDir])
    let registrations = dump.stdout.split(separator: "\n").filter { $0.contains(" rseq(") }
    let succeeded = registrations.filter { $0.hasSuffix(", 0x53053053) = 0") }
    #expect(registrations.count == 6 && succeeded.count == 3, "\(dump.stdout)")
    // A timer signal in a thread's first pass through `bump`, at a point another thread's
    // signal had made hot: the stub was built before the thread's frame was, compared stale
    // stack words, and let every pass trap (700,000 in 14 s, 1 run in 4) until it was built
    // again at the first such pass (`runToCodePoint`'s rebuild).
    let stats = try Harness.rewind(["stats", "--json", result.traceDir])
    let object = try #require(try JSONSerialization.jsonObject(with: Data(stats.stdout.utf8)) as? [String: Any])
    let lastReplay = try #require(object["lastReplay"] as? [String: Any], "\(stats.stdout)")
    let reached = lastReplay["codePointsReached"] as? Int ?? 0
    #expect((lastReplay["passesRejected"] as? Int ?? .max) <= 4 * max(reached, 1), "\(stats.stdout)")
  }

  /// Threads preempted in a function that every pass of their loop calls with the same
  /// registers, the loop's counter in the caller's frame (as an interpreter keeps a loop's
  /// variables): replay matched such a point at the first pass with those registers, so the
  /// threads' increments of a shared counter interleaved otherwise and the printed views of
  /// it differed (3 of 3 replays diverged). The recorded stack above rsp is part of the
  /// point now; the stub compares the words of it that change, so no pass traps in vain.
  @Test(arguments: 1...2) func preemptedWhereOnlyTheStackTellsPassesApart(run: Int) throws {
    // 5*10^6 passes, 50-70 ms a thread: with 10^6 a quiet machine ran a thread's whole loop
    // within one 5 ms timeslice, and nothing was preempted.
    let result = try assertRecordReplay("stack_only_loop", args: ["5000000"])
    #expect(result.record.stdout.contains("shared counter"), "\(result.record.summary)")
    let stats = try Harness.rewind(["stats", "--json", result.traceDir])
    let object = try #require(try JSONSerialization.jsonObject(with: Data(stats.stdout.utf8)) as? [String: Any])
    let preemptions = object["preemptions"] as? Int ?? 0
    #expect(preemptions > 0, "no thread was preempted in the loop: \(stats.stdout)")
    let lastReplay = try #require(object["lastReplay"] as? [String: Any], "\(stats.stdout)")
    #expect((lastReplay["passesRejected"] as? Int ?? .max) <= 2 * preemptions + 2, "\(stats.stdout)")
  }

  /// Threads preempted in a function that every pass of a loop calls with the same registers
  /// and the same stack, the loop's counter kept in a frame on the heap whose address is in
  /// rbx (as CPython keeps a Python loop's state in heap frames and objects: python3 with
  /// threads and a subprocess diverged about 1 replay in 6). Replay matched the first pass,
  /// and the threads' increments of a shared counter interleaved otherwise (3 of 4 replays
  /// diverged). The memory the registers point to is part of the point now; the stub
  /// compares the words of it that change, so few passes trap in vain.
  @Test(arguments: 1...2) func preemptedWhereOnlyMemoryARegisterPointsToTellsPassesApart(run: Int) throws {
    // 5*10^6 passes a thread, as stack_only_loop, so that a quiet machine preempts them.
    let result = try assertRecordReplay("heap_frame_loop", args: ["5000000"])
    #expect(result.record.stdout.contains("shared counter"), "\(result.record.summary)")
    let stats = try Harness.rewind(["stats", "--json", result.traceDir])
    let object = try #require(try JSONSerialization.jsonObject(with: Data(stats.stdout.utf8)) as? [String: Any])
    let preemptions = object["preemptions"] as? Int ?? 0
    #expect(preemptions > 0, "no thread was preempted in the loop: \(stats.stdout)")
    let lastReplay = try #require(object["lastReplay"] as? [String: Any], "\(stats.stdout)")
    #expect((lastReplay["passesRejected"] as? Int ?? .max) <= 2 * preemptions + 2, "\(stats.stdout)")
  }

  /// The same with the frame below where rbx points, as CPython's value stack lies below its
  /// stack pointer (python3 with threads and a subprocess diverged 3 replays in 140: a
  /// preemption in `_PyEval_EvalFrameDefault` matched an earlier pass). The memory just
  /// before where each register points is part of the point too; before that, 3 replays in 3
  /// of this fixture diverged.
  @Test(arguments: 1...2) func preemptedWhereOnlyMemoryBelowARegisterTellsPassesApart(run: Int) throws {
    let result = try assertRecordReplay("heap_frame_loop", args: ["5000000", "below"])
    #expect(result.record.stdout.contains("shared counter"), "\(result.record.summary)")
    let stats = try Harness.rewind(["stats", "--json", result.traceDir])
    let object = try #require(try JSONSerialization.jsonObject(with: Data(stats.stdout.utf8)) as? [String: Any])
    #expect(object["preemptions"] as? Int ?? 0 > 0, "no thread was preempted in the loop: \(stats.stdout)")
  }

  /// Threads preempted in a loop laid out as C1 lays out `s += j % 7`: two jcc rel32 land
  /// on both sides of the 2-byte idiv, so no 5-byte patch at or before it was safe and replay
  /// fell back to the hardware breakpoint, tens of millions of passes (minutes) for the
  /// points on the idiv. The patch there now re-aims those jcc at the stub.
  @Test(arguments: 1...3) func preemptedOnAJITDivision(run: Int) throws {
    let result = try assertRecordReplay("jit_idiv_loop")
    let idiv = try #require(lastAddress(onLineStarting: "loop at ", in: result.record.stdout), "\(result.record.summary)")
    let rips = try preemptionAddresses(result.traceDir)
    // Where the interrupt lands round the loop depends on the CPU; over ~80 preemptions some
    // land on the idiv (a few of every ten on the EPYC here).
    #expect(rips.contains(idiv), "no preemption on the idiv at \(String(idiv, radix: 16)): \(rips.map { String($0, radix: 16) })")
    let stats = try Harness.rewind(["stats", "--json", result.traceDir])
    let object = try #require(try JSONSerialization.jsonObject(with: Data(stats.stdout.utf8)) as? [String: Any])
    let preemptions = object["preemptions"] as? Int ?? 0
    let lastReplay = try #require(object["lastReplay"] as? [String: Any], "\(stats.stdout)")
    #expect((lastReplay["codePointsReachedByStub"] as? Int ?? 0) >= rips.filter { $0 == idiv }.count, "\(stats.stdout)")
    // Two watched passes a point before its stub; each point on the idiv searched with the
    // hardware breakpoint rejected millions.
    #expect((lastReplay["passesRejected"] as? Int ?? .max) <= 2 * preemptions, "\(stats.stdout)")
  }

  /// Threads that make a short call every few microseconds give way at a call's return when
  /// their timeslice ends, not at a code point: recording preempted them 17 to 59 times
  /// (each a search for replay); one or two remain possible when the machine is so busy
  /// that a thread waits milliseconds for its CPU between two calls.
  @Test(arguments: 1...2) func callersGiveWayAtCalls(run: Int) throws {
    let result = try assertRecordReplay("calls_between_work")
    let stats = try Harness.rewind(["stats", "--json", result.traceDir])
    let object = try #require(try JSONSerialization.jsonObject(with: Data(stats.stdout.utf8)) as? [String: Any])
    #expect((object["preemptions"] as? Int ?? .max) <= 2, "\(stats.stdout)")
  }

  /// Signals that land between system calls (inside another signal's handler) replay at
  /// their recorded code point.
  @Test(arguments: 1...2) func signalInsideHandler(run: Int) throws {
    try assertRecordReplay("signal_in_handler")
  }

  /// A signal to one thread blocked in read: its handler runs there, the read fails EINTR.
  @Test(arguments: 1...5) func signalToASpecificThread(run: Int) throws {
    let result = try assertRecordReplay("thread_signal")
    #expect(result.record.stdout.contains("thread 3: read returned -1 (Interrupted system call)\n"), "\(result.record.summary)")
    #expect(result.record.stdout.contains("handled by thread 3\n"))
  }

  /// exit_group from one thread while the others block in system calls.
  @Test(arguments: 1...5) func exitGroupWhileThreadsBlock(run: Int) throws {
    let result = try assertRecordReplay("exit_group_threads", expectedStatus: 3, printsExitSuccess: false)
    #expect(result.replay.stdout == "quitter: exiting the whole process with 3\n", "\(result.replay.summary)")
  }

  /// A thread calling getppid over and over while the main thread sleeps and exits: the
  /// busy thread must give way (it starved the main thread for minutes), and a call it
  /// entered after the exit_group must replay though the replayed exit_group kills it first
  /// (replay waited for it for ever). The second happens in some recordings only.
  @Test(arguments: 1...5) func exitGroupWhileAThreadMakesCalls(run: Int) throws {
    let result = try assertRecordReplay("exit_group_race", printsExitSuccess: false)
    #expect(result.replay.stdout == "exiting with the other thread in a system call\n", "\(result.replay.summary)")
  }

  /// epoll over timerfd, eventfd and signalfd, then SIGALRM from setitimer during pause().
  @Test(arguments: 1...5) func descriptorEventsAndTimers(run: Int) throws {
    let result = try assertRecordReplay("fd_events")
    #expect(result.record.stdout.contains("alarms 3 or more, seen 1 1 1\n"), "\(result.record.summary)")
  }

  /// A handler on the alternate signal stack interrupts a read that SA_RESTART restarts.
  @Test(arguments: 1...3) func alternateStackAndRestart(run: Int) throws {
    let result = try assertRecordReplay("signal_stack_restart")
    #expect(
      result.record.stdout.contains("read 1 byte 'y' after a restart; handler on the alternate stack: 1\n"),
      "\(result.record.summary)")
  }

  /// A SIGEV_THREAD timer: glibc's helper thread is still blocked in rt_sigtimedwait when the
  /// process exits; the slice it ran before that call must replay.
  @Test(arguments: 1...5) func sigevThreadTimer(run: Int) throws {
    let result = try assertRecordReplay("sigev_thread_timer")
    // Whether the helper thread reached its second rt_sigtimedwait before the exit depends on
    // timing; when it did, the faithful replay above needed that unfinished call.
    #expect(result.record.stdout.contains("SIGEV_THREAD timer ran with value 7\n"), "\(result.record.summary)")
  }
}

/// The hex address (`0x...`) that ends the first line of `output` starting with `prefix`.
private func lastAddress(onLineStarting prefix: String, in output: String) -> UInt64? {
  output.split(separator: "\n").first { $0.hasPrefix(prefix) }
    .flatMap { $0.split(separator: " ").last }.flatMap { UInt64($0.dropFirst(2), radix: 16) }
}

/// Where each preemption of a trace happened, in order (`rewind dump --format json`).
private func preemptionAddresses(_ trace: String) throws -> [UInt64] {
  let dump = try Harness.rewind(["dump", "--format", "json", trace])
  return dump.stdout.split(separator: "\n").compactMap { line -> UInt64? in
    guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
      object["kind"] as? String == "preemption"
    else { return nil }
    return (object["rip"] as? NSNumber)?.uint64Value
  }
}
