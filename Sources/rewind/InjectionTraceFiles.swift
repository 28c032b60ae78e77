import Foundation
import Glibc
import LinuxTrace
import Recorder
import Replayer
import Syscalls
import TraceFormat

/// The traces `rewind inject` writes of its runs, so that a run can be replayed and debugged
/// like any recording: the original's events up to where the program went live (the
/// injected call's result changed), then the live part, recorded by a `RecordSession` that
/// takes the live processes over from the replay. Events keep their numbers, and the live
/// processes their recorded ids, so the new trace reads as one recording.
enum InjectionTraceFiles {
  /// `describeCrash` is asked, at each fault-like signal of the live part (the last one is
  /// reported), while the thread is stopped there, where it was (a backtrace).
  static func make(
    original: String, destination: String, describeCrash: ((Int32, [UInt64]) -> String?)?
  ) -> InjectionTraces {
    let describe = UncheckedBox(describeCrash)
    return InjectionTraces(
      begin: { firstIndex, injected in
        let (reader, writer) = try start(original: original, destination: destination)
        while let event = try reader.nextEvent(), event.index < firstIndex {
          writer.append(event.index == injected.index ? .syscall(injected) : event)
        }
        let command = reader.header.command
        return { processes, prepared, timeout in
          recordLive(
            command: command, writer: writer, processes: processes, firstIndex: firstIndex, prepared: prepared, timeout: timeout,
            describeCrash: describe.value)
        }
      },
      copyWhole: { injected in
        let (reader, writer) = try start(original: original, destination: destination)
        while let event = try reader.nextEvent() { writer.append(event.index == injected.index ? .syscall(injected) : event) }
        try writer.finish(summary: TraceSummary(exitStatus: reader.summary?.exitStatus, eventCount: writer.eventCount))
        return destination
      })
  }

  /// A writer for `destination` with the original's header (this rewind's format) and its
  /// saved files, and a reader of the original at its first event.
  private static func start(original: String, destination: String) throws -> (TraceReader, TraceWriter) {
    let reader = try TraceReader(directory: original)
    var header = reader.header
    header.formatVersion = TraceHeader.currentFormatVersion
    header.rewindVersion = Rewind.version
    let writer = try TraceWriter(directory: destination, header: header)
    let files = (try? FileManager.default.contentsOfDirectory(atPath: original + "/files")) ?? []
    for name in files {
      let from = original + "/files/" + name, to = destination + "/files/" + name
      if link(from, to) != 0 && errno != EEXIST { try FileManager.default.copyItem(atPath: from, toPath: to) }
    }
    return (reader, writer)
  }

  /// Records the live part on into `writer`; the processes are the recorder's from the
  /// start, so whatever happens they end with it.
  private static func recordLive(
    command: [String], writer: TraceWriter, processes: [LiveProcess], firstIndex: UInt64, prepared: LiveRun, timeout: Double,
    describeCrash: ((Int32, [UInt64]) -> String?)?
  ) -> LiveRun {
    var run = prepared
    run.trace = writer.directory
    guard !processes.isEmpty else {
      // Nothing could be let go (the report says why): the trace ends where the run did.
      run.traceProblem = "no live process could be taken over for recording"
      try? writer.finish(summary: TraceSummary(exitStatus: nil, eventCount: writer.eventCount))
      return run
    }
    let options = RecordOptions(
      executablePath: command.first ?? "", arguments: command, environment: [], traceDirectory: writer.directory, rewindVersion: Rewind.version)
    let session = RecordSession(options: options, writer: writer)
    let crash = CrashNote()
    let describe = UncheckedBox(describeCrash)
    session.onSignal = { tid, signal, registers in
      // The last fault-like signal: one the program handled may come before the one that
      // killed it.
      guard [SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGSYS].contains(signal) else { return }
      crash.note(describe.value?(tid, registers) ?? "rip 0x\(String(Registers(words: registers).rip, radix: 16))")
    }
    // A hang: at the deadline, say what each live thread does, then kill them all (the
    // recorder sees them die and the trace ends there).
    let watchdog = Watchdog(seconds: timeout) {
      let live = session.liveProcesses.sorted()
      let names = Dictionary(uniqueKeysWithValues: processes.flatMap(\.threads).map { ($0.tid, $0.recordedTid) })
      let threads = live.flatMap { pid in
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []).compactMap(Int32.init).sorted().map {
          LiveRun.describeThread($0, as: names[$0] ?? $0)
        }
      }
      for pid in live { kill(pid, SIGKILL) }
      return threads
    }
    let adopted = processes.map { process in
      let threads = process.threads.map {
        AdoptedThread(
          tid: $0.tid, recordedTid: $0.recordedTid, registers: $0.registers, signalMask: $0.signalMask,
          pendingSignals: $0.pendingSignals.map { Signal(rawValue: $0) })
      }
      return AdoptedProcess(mainThread: threads[0], otherThreads: Array(threads.dropFirst()))
    }
    let outcome: Result<RecordOutcome, Error> = Result { try session.run(adopting: adopted, firstIndex: firstIndex) }
    let hung = watchdog.cancel()
    let status: ExitStatus? = (try? outcome.get())?.exitStatus.traceStatus
    do { try writer.finish(summary: TraceSummary(exitStatus: status, eventCount: writer.eventCount)) } catch {
      run.traceProblem = "finishing the trace failed: \(error)"
    }
    run.calls = (try? liveCalls(in: writer.directory, from: firstIndex)) ?? []
    switch outcome {
    case .failure(let error):
      // The recorder killed and reaped what it traced.
      run.traceProblem = "the recording of the live part stopped: \(error)"
      run.end = .killed(signal: SIGKILL, at: "by rewind, when the recording failed")
    case .success(let outcome):
      if let hung {
        run.end = .hung(threads: hung)
      } else {
        switch outcome.exitStatus {
        case .exited(let code): run.end = .exited(code)
        case .killed(let signal): run.end = .killed(signal: signal, at: crash.text)
        }
      }
    }
    return run
  }

  /// The live part's events as the live listing prints them: "[tid] call(...) = result",
  /// "[tid] --- SIGNAL ---".
  private static func liveCalls(in directory: String, from firstIndex: UInt64) throws -> [String] {
    let reader = try TraceReader(directory: directory)
    var lines: [String] = []
    while let event = try reader.nextEvent() {
      guard event.index >= firstIndex else { continue }
      switch event {
      case .syscall(let e):
        guard let call = SyscallTable.syscall(numbered: e.number) else { continue }
        let memory = MemorySnapshot(chunks: (e.inputs + e.outputs).map { ($0.address, $0.bytes) })
        lines.append(
          "[\(e.tid)] "
            + SyscallFormatter.format(call, arguments: e.entryRegisters.syscallArguments, result: e.isUnfinished ? nil : e.result, memory: memory))
      case .signal(let e):
        lines.append("[\(e.tid)] --- \(Signal(rawValue: e.signal)) ---")
      default:
        continue
      }
    }
    return lines
  }
}

/// The first crash description noted, from any group's tracer thread.
private final class CrashNote: @unchecked Sendable {
  private let lock = NSLock()
  private var noted: String?
  var text: String? { lock.withLock { noted } }
  func note(_ text: String) {
    lock.withLock { noted = text }
  }
}

/// Runs `expire` once after `seconds`, on a thread of its own, unless cancelled first;
/// `cancel` returns what it returned.
private final class Watchdog: @unchecked Sendable {
  private let lock = NSLock()
  private var cancelled = false
  private var result: [String]?
  private let done = DispatchSemaphore(value: 0)
  private let wake = DispatchSemaphore(value: 0)

  init(seconds: Double, expire: @escaping @Sendable () -> [String]) {
    Thread.detachNewThread { [self] in
      let timedOut = wake.wait(timeout: .now() + seconds) == .timedOut
      if timedOut, lock.withLock({ !cancelled }) {
        let threads = expire()
        lock.withLock { result = threads }
      }
      done.signal()
    }
  }

  @discardableResult
  func cancel() -> [String]? {
    lock.withLock { cancelled = true }
    wake.signal()
    done.wait()
    return lock.withLock { result }
  }
}

/// Carries a non-Sendable value into a @Sendable closure that runs while its owner waits.
private struct UncheckedBox<T>: @unchecked Sendable {
  let value: T
  init(_ value: T) { self.value = value }
}
