import CSupport
import Glibc
import LinuxTrace
import TraceFormat

/// What `rewind inject` found: the call changed, how far the program followed the
/// recording after it, and how it ended.
public struct InjectionReport: Sendable {
  public var original: SyscallEvent
  public var injected: SyscallEvent
  /// The recorded process the call belongs to.
  public var pid: Int32
  /// The process's recorded calls that replay gave after the injection, the program making
  /// them exactly as recorded (before it noticed, or to its end).
  public var followedCalls: [SyscallEvent] = []
  /// Where the program first did something the recording does not have: the recorded event
  /// there, and what replay saw instead. Nil: it never did (it did not notice).
  public var noticedAt: (event: TraceEvent?, difference: [String])?
  /// The run from there on, live.
  public var live: LiveRun?
  /// How the recording ended, when the program never noticed.
  public var recordedEnd: ExitStatus?
  /// Files the program created or truncated whose final contents the injection changed
  /// (program never noticed): the recording's size, the size with the injection, where the
  /// two first differ, and the path the changed contents were written to.
  public var changedFiles: [ChangedFile] = []
  /// The trace of the injected run (`InjectionTraces`): the recording up to the live part
  /// with the injected result, then the live part as recorded; or, when the program did not
  /// notice, the whole recording with the injected result. Nil when it could not be made
  /// (`traceProblem` says why).
  public var trace: String?
  public var traceProblem: String?

  public struct ChangedFile: Sendable {
    public var path: String
    public var recordedBytes: Int
    public var injectedBytes: Int
    public var firstDifference: Int
    public var savedAs: String?
  }

  public enum Reaction: String, Sendable {
    case didNotNotice = "did not notice"
    case handled = "noticed and handled"
    case exitedNonZero = "exited non-zero"
    case crashed = "crashed"
    case hung = "hung"
  }

  public var reaction: Reaction {
    guard let live else { return .didNotNotice }
    switch live.end {
    case .exited(0): return .handled
    case .exited: return .exitedNonZero
    case .killed: return .crashed
    case .hung: return .hung
    }
  }
}

/// Writes the traces of injected runs (built where the recorder is known: `rewind inject`).
public struct InjectionTraces: Sendable {
  /// Records the processes `handOffLive` let go, as the continuation of a trace already
  /// begun, for at most `timeout` seconds; returns the live run (with `prepared`'s lines) and
  /// its trace. It does not fail: a recording that stops on an error ends the trace there
  /// and says so in `LiveRun.traceProblem`.
  public typealias LiveRecorder = @Sendable (_ processes: [LiveProcess], _ prepared: LiveRun, _ timeout: Double) -> LiveRun

  /// Begins the trace of a live part with the recording's events before `firstIndex` (the
  /// injected one changed), before anything is let go: when it throws, the run goes live
  /// unrecorded.
  public var begin: @Sendable (_ firstIndex: UInt64, _ injected: SyscallEvent) throws -> LiveRecorder
  /// Copies the whole recording with the injected event changed; returns the copy's directory.
  public var copyWhole: @Sendable (_ injected: SyscallEvent) throws -> String

  public init(
    begin: @escaping @Sendable (UInt64, SyscallEvent) throws -> LiveRecorder, copyWhole: @escaping @Sendable (SyscallEvent) throws -> String
  ) {
    self.begin = begin
    self.copyWhole = copyWhole
  }
}

public enum InjectionRun {
  /// Replays `trace` up to `injection`'s event, changes that call, follows the recording
  /// while the program makes the recorded calls, and goes live where it does not (for at
  /// most `timeout` seconds). Changed files are written under `outputDirectory/files`.
  /// Call it on a tracer thread pinned to `cpu`. `describeCrash`: what to say of where a
  /// live thread met a fatal signal, given its real tid and registers while it is stopped
  /// there (a symbolized backtrace); nil, or its nil, gives the address and mapping.
  /// `traces`: where the injected run is written as a trace of its own (nil: it is not, and
  /// the live part is only followed and listed).
  public static func run(
    trace: String, injection: Injection, pid: Int32, timeout: Double, outputDirectory: String, cpu: Int32?,
    describeCrash: ((_ tid: Int32, _ registers: [UInt64]) -> String?)? = nil, traces: InjectionTraces? = nil
  ) throws -> InjectionReport {
    let session = try ReplaySession(options: ReplayOptions(traceDirectory: trace, echoOutput: true, process: pid, injection: injection))
    session.describeCrash = describeCrash
    _ = rewind_become_subreaper()
    try session.start(cpu: cpu)
    var followed: [SyscallEvent] = []
    var failure: Error?
    var recordedEnd: ExitStatus?
    replaying: while true {
      do {
        switch try session.step() {
        case .replayed(.syscall(let e)) where session.injectedEvent != nil && e.index != injection.eventIndex && session.scopeIncludes(e.tid, of: pid):
          followed.append(e)
        case .finished(let outcome):
          recordedEnd = outcome.exitStatus
          break replaying
        default: break
        }
      } catch {
        failure = error
        break
      }
    }
    guard let injected = session.injectedEvent else {
      session.killRemainingProcesses()
      throw failure ?? ReplayError.setup("the replay ended before event \(injection.eventIndex)")
    }
    let reader = try TraceReader(directory: trace)
    var original: SyscallEvent?
    var report: InjectionReport
    if let failure {
      let (index, difference) = describe(failure)
      var files = FileTable()
      var noticedEvent: TraceEvent?
      var end: UInt64 = 0  // the events before the live part
      while let event = try reader.nextEvent() {
        if event.index >= index { noticedEvent = event; break }
        files.add(changed(event, injected, original: &original))
        end = event.index + 1
      }
      report = InjectionReport(original: original ?? injected, injected: injected, pid: pid)
      report.noticedAt = (noticedEvent, difference)
      var recorder: InjectionTraces.LiveRecorder?
      if let traces, session.liveProcessesCanBeHandedOff {
        do { recorder = try traces.begin(noticedEvent?.index ?? end, injected) } catch {
          report.traceProblem = "the live part was not recorded: its trace could not be begun (\(error))"
        }
      }
      if let recorder {
        let (processes, prepared) = session.handOffLive(files: files)
        let recorded = recorder(processes, prepared, timeout)
        report.live = recorded
        report.trace = recorded.trace
        report.traceProblem = recorded.traceProblem
      } else if report.traceProblem != nil {
        report.live = session.goLive(files: files, timeout: timeout)
      } else {
        report.live = session.goLive(files: files, timeout: timeout)
        if traces != nil { report.traceProblem = "the live part was not recorded: a process of it had lost its main thread, which the recorder needs to take it over" }
      }
    } else {
      var recorded = FileTable(), changedTable = FileTable()
      while let event = try reader.nextEvent() {
        recorded.add(event)
        changedTable.add(changed(event, injected, original: &original))
      }
      report = InjectionReport(original: original ?? injected, injected: injected, pid: pid)
      report.recordedEnd = recordedEnd
      if let traces {
        do { report.trace = try traces.copyWhole(injected) } catch { report.traceProblem = "the injected run's trace could not be written: \(error)" }
      }
      report.changedFiles = compare(recorded, changedTable, savingUnder: outputDirectory)
    }
    report.followedCalls = followed
    session.reapOrphans()
    return report
  }

  private static func changed(_ event: TraceEvent, _ injected: SyscallEvent, original: inout SyscallEvent?) -> TraceEvent {
    guard case .syscall(let e) = event, e.index == injected.index else { return event }
    original = e
    return .syscall(injected)
  }

  /// The event where replay and program parted, and the differences replay saw.
  private static func describe(_ error: Error) -> (UInt64, [String]) {
    switch error {
    case let divergence as Divergence: return (divergence.eventIndex, divergence.differences)
    case let stalled as ReplayStalled:
      return (stalled.eventIndex, ["the program stopped making the recorded calls: it waits for \(stalled.awaited)"] + stalled.threads)
    case let interrupted as ReplayInterrupted: return (interrupted.eventIndex, ["interrupted by \(interrupted.signal)"])
    default: return (UInt64.max, ["\(error)"])
    }
  }

  private static func compare(_ recorded: FileTable, _ changed: FileTable, savingUnder directory: String) -> [InjectionReport.ChangedFile] {
    var result: [InjectionReport.ChangedFile] = []
    for (path, contents) in changed.contents.sorted(by: { $0.key < $1.key }) {
      guard let injectedBytes = contents, let known = recorded.contents[path], let recordedBytes = known, injectedBytes != recordedBytes else { continue }
      let first = zip(recordedBytes, injectedBytes).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(recordedBytes.count, injectedBytes.count)
      var saved: String?
      let folder = directory + "/files"
      mkdir(directory, 0o755)
      mkdir(folder, 0o755)
      let target = folder + "/" + (path.split(separator: "/").last.map(String.init) ?? "file")
      if replaceFile(at: target, with: injectedBytes) == nil { saved = target }
      result.append(
        InjectionReport.ChangedFile(
          path: path, recordedBytes: recordedBytes.count, injectedBytes: injectedBytes.count, firstDifference: first, savedAs: saved))
    }
    return result
  }
}

extension ReplaySession {
  /// Whether `tid` is a thread of recorded process `pid`.
  func scopeIncludes(_ tid: Int32, of pid: Int32) -> Bool {
    tasks[tid]?.recordedTgid == pid || tid == pid
  }
}
