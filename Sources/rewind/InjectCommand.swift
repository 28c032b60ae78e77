import ArgumentParser
import Foundation
import LinuxTrace
import Replayer
import Symbols
import Syscalls
import TraceFormat

extension Rewind {
  struct Inject: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Replay to a system call, change its result, and see how the program copes.",
      discussion: """
        Replay reproduces the recording exactly up to the chosen call, gives it the anomaly \
        instead of its recorded result, and goes on serving the recording while the program \
        makes the recorded calls. The first call that differs is the program noticing: from \
        there it runs live (its files opened again at their recorded paths and offsets, the \
        files it created put back as they were then), for real, until it ends or --timeout \
        passes. The live part acts on the real files at the recorded paths.

        Anomalies: --errno NAME (any call), or --anomaly short:N (reads, writes, sends, \
        receives), filetype:dir|chr|blk|fifo|sock|lnk|reg (stat family), timeout (poll, \
        select, epoll_wait), clock:+N or clock:-N seconds (clock_gettime, gettimeofday, \
        time), exdev (rename), enospc (write, fsync...), eintr, eagain (blocking calls), \
        econnreset (connect, send, recv), enomem (mmap).
        """)

    @Flag(name: .long, help: "List every injection opportunity: each call with the anomalies that fit it.")
    var list = false

    @Option(name: .long, help: "The event number of the call to change (see `rewind dump`).")
    var at: UInt64?

    @Option(name: .long, help: "Change a call of this name (with --nth and --pid) instead of --at.")
    var syscall: String?

    @Option(name: .long, help: "With --syscall: the Nth such call (from 1).")
    var nth: Int = 1

    @Option(name: .long, help: "With --syscall: count only this recorded process's calls.")
    var pid: Int32?

    @Option(name: .long, help: "Make the call fail with this errno (ENOSPC, EIO, EINTR...).")
    var errno: String?

    @Option(name: .long, help: "An unusual result (see above).")
    var anomaly: String?

    @Option(name: .long, help: "Inject this anomaly at every call it fits, one run each, and print a table of reactions.")
    var campaign: String?

    @Option(name: .long, help: "Seconds the live part may run before it counts as hung (default 10).")
    var timeout: Double = 10

    @Option(name: .long, help: "text (default) or json.")
    var format: String = "text"

    @Option(
      name: .shortAndLong,
      help: "The trace to write of the injected run (the recording up to where the program noticed, then the live part as recorded; changed files go in its `changed` folder); default: a new one beside the trace.")
    var output: String?

    @Flag(name: .long, help: "Then debug the injected run's trace under gdb, from the injected call (forwards and backwards).")
    var debug = false

    @Argument(help: "The trace (default: the latest recording).")
    var trace: String?

    @Argument(parsing: .postTerminator, help: "With --debug: arguments for gdb, after --.")
    var gdbArguments: [String] = []

    func validate() throws {
      if format != "text" && format != "json" { throw ValidationError("--format is text or json, not '\(format)'.") }
      let modes = [list, at != nil || syscall != nil, campaign != nil].filter { $0 }.count
      if modes != 1 { throw ValidationError("give one of --list, --at EVENT (or --syscall NAME), --campaign ANOMALY") }
      if at != nil && syscall != nil { throw ValidationError("give --at EVENT or --syscall NAME, not both") }
      if (at != nil || syscall != nil) && (errno == nil) == (anomaly == nil) {
        throw ValidationError("say what to inject: --errno NAME or --anomaly ANOMALY (one of them)")
      }
      if let errno, ErrnoNames.number(named: errno) == nil {
        throw ValidationError("'\(errno)' is not an errno name Linux defines (ENOSPC, EIO, EINTR, EAGAIN...)")
      }
      if let anomaly { _ = try parsed(anomaly) }
      if let campaign { _ = try parsed(campaignAnomaly(campaign)) }
      if let syscall, SyscallTable.syscall(named: syscall) == nil { throw ValidationError("'\(syscall)' is not an x86-64 system call name") }
      if nth < 1 { throw ValidationError("--nth counts from 1") }
      if timeout <= 0 { throw ValidationError("--timeout must be more than 0 seconds") }
      if debug && (at == nil && syscall == nil) { throw ValidationError("--debug goes with one injection (--at EVENT or --syscall NAME)") }
      if !gdbArguments.isEmpty && !debug { throw ValidationError("arguments after -- are for gdb, with --debug") }
    }

    private func parsed(_ text: String) throws -> Anomaly {
      do { return try Anomaly(parsing: text) } catch { throw ValidationError("--anomaly \(text): \(error)") }
    }

    private func campaignAnomaly(_ text: String) -> String { text == "short" ? "short:1" : text }

    func run() throws {
      var directory: String
      do { directory = try TraceLocation.resolve(trace, root: TraceLocation.defaultRoot()) } catch {
        throw fail("\(error)", status: ExitCodes.badTrace)
      }
      if !directory.hasPrefix("/") { directory = FileManager.default.currentDirectoryPath + "/" + directory }
      if list { return try listOpportunities(directory) }
      if let campaign { return try runCampaign(directory, anomaly: try parsed(campaignAnomaly(campaign))) }
      let anomaly = try errno.map { Anomaly.error(ErrnoNames.number(named: $0)!) } ?? parsed(anomaly!)
      let (event, process) = try target(in: directory)
      if let misfit = anomaly.misfit(for: event) {
        throw fail("\(anomaly) does not fit event \(event.index), \(lineOf(.syscall(event))): \(misfit)", status: ExitCode.validationFailure.rawValue)
      }
      if let output, let contents = try? FileManager.default.contentsOfDirectory(atPath: output), !contents.isEmpty {
        throw fail("-o \(output) is not empty: name a new directory for the injected run's trace", status: ExitCode.validationFailure.rawValue)
      }
      let traceDirectory: String
      do { traceDirectory = try output ?? newTraceDirectory(beside: directory, event: event.index) } catch {
        throw fail("cannot choose a directory for the injected run's trace: \(error)", status: ExitCodes.recordFailed)
      }
      let outputDirectory = traceDirectory + "/changed"
      let describeCrash = crashDescriber(directory, pid: process, eventIndex: event.index)
      let traces = InjectionTraceFiles.make(original: directory, destination: traceDirectory, describeCrash: describeCrash)
      // The report owns stdout; the program's own output (echoed or live) goes to stderr.
      let report = dup(1)
      dup2(2, 1)
      let cpu = TracerThread.currentCPU()
      let result = TracerThread.run(pinnedTo: cpu) {
        Result {
          try InjectionRun.run(
            trace: directory, injection: Injection(eventIndex: event.index, anomaly: anomaly), pid: process, timeout: timeout,
            outputDirectory: outputDirectory, cpu: cpu, describeCrash: describeCrash, traces: traces)
        }
      }
      fflush(nil)
      dup2(report, 1)
      close(report)
      switch result {
      case .success(let outcome):
        print(format == "json" ? json(outcome) : text(outcome), terminator: "")
        fflush(nil)
        if debug {
          guard let trace = outcome.trace else {
            throw fail("--debug: there is no trace of the injected run to debug (\(outcome.traceProblem ?? "none was written"))", status: ExitCodes.recordFailed)
          }
          // The injected call's process, from its fork when it is not the root.
          let root = try? TraceReader(directory: trace).nextEvent()?.tid
          let forked = root == nil || root == process ? [] : ["-f", "\(process)"]
          let replay = try Rewind.Replay.parse(forked + ["-g", "\(event.index)", trace] + (gdbArguments.isEmpty ? [] : ["--"] + gdbArguments))
          try replay.run()
        }
      case .failure(let error):
        throw fail("the replay to event \(event.index) failed: \(error)", status: ExitCodes.divergence)
      }
    }

    /// `<trace's folder>/<program>-inject-<event>-N`, not yet made (the trace writer makes it).
    private func newTraceDirectory(beside directory: String, event: UInt64) throws -> String {
      let root = (directory as NSString).deletingLastPathComponent
      let program = (try? TraceReader(directory: directory))?.header.command.first.map { ($0 as NSString).lastPathComponent } ?? "trace"
      let made = try TraceLocation.makeNewTraceDirectory(root: root, executableName: "\(program)-inject-\(event)")
      rmdir(made)
      return made
    }

    /// Where a live thread of the run met a fatal signal: its backtrace by function and
    /// source line (`main (prog.c:42), called from ...`), read through the recording's files
    /// (the replayed process maps the trace's saved copies), after the address and mapping.
    private func crashDescriber(_ directory: String, pid: Int32, eventIndex: UInt64) -> ((Int32, [UInt64]) -> String?)? {
      guard let files = try? RecordingFiles(directory: directory) else { return nil }
      return { tid, registers in
        guard let maps = try? String(contentsOfFile: "/proc/\(tid)/maps", encoding: .utf8) else { return nil }
        let named = files.recordedMaps(maps, of: pid, before: eventIndex + 1)
        guard let symbolizer = try? Symbolizer(pid: tid, maps: named, locate: { files.hostPath(forRecordedFile: $0) }) else { return nil }
        let frames = symbolizer.symbolizedBacktrace(tid: tid, registers: registers, depth: 8)
        guard let first = frames.first, first.function != nil else { return nil }
        let rip = Registers(words: registers).rip
        let mapping = named.split(separator: "\n").first { line in
          let range = line.split(separator: " ").first?.split(separator: "-").compactMap { UInt64($0, radix: 16) } ?? []
          return range.count == 2 && range[0] <= rip && rip < range[1]
        }
        let module = mapping.flatMap { $0.split(separator: " ", omittingEmptySubsequences: true).dropFirst(5).first }.map(String.init)
        return "rip 0x\(String(rip, radix: 16))" + (module.map { " in \($0)" } ?? "") + ": "
          + frames.map(\.description).joined(separator: ", called from ")
      }
    }

    /// The call to change, and its recorded process.
    private func target(in directory: String) throws -> (SyscallEvent, Int32) {
      let reader = try openTrace(directory)
      var processes = ProcessTable()
      var count = 0
      var nearest: [String] = []
      while let event = try readEvent(reader) {
        processes.add(event)
        if let at {
          guard event.index == at else { continue }
          guard case .syscall(let e) = event else {
            throw fail("event \(at) is not a system call: \(lineOf(event)); `rewind inject --list` shows the calls", status: ExitCode.validationFailure.rawValue)
          }
          return (e, processes.processOf(e.tid))
        }
        guard case .syscall(let e) = event, SyscallTable.syscall(numbered: e.number)?.name == syscall else { continue }
        if let pid, processes.processOf(e.tid) != pid { continue }
        nearest.append("\(e.index)")
        count += 1
        if count == nth { return (e, processes.processOf(e.tid)) }
      }
      if let at { throw fail("the trace has no event \(at) (it has \(reader.summary?.eventCount ?? 0) events)", status: ExitCode.validationFailure.rawValue) }
      if let pid, processes.process(pid) == nil {
        throw fail("the recording has no process \(pid); its processes are \(processes.processes.map { String($0.pid) }.joined(separator: ", "))", status: ExitCode.validationFailure.rawValue)
      }
      throw fail(
        "the recording has \(count) \(syscall!) call\(count == 1 ? "" : "s")\(pid.map { " in process \($0)" } ?? ""), not \(nth)"
          + (nearest.isEmpty ? "" : " (events \(nearest.prefix(10).joined(separator: ", "))\(nearest.count > 10 ? "..." : ""))"),
        status: ExitCode.validationFailure.rawValue)
    }

    private func lineOf(_ event: TraceEvent) -> String { EventLine.body(event, stringLimit: 32) }

    private func listOpportunities(_ directory: String) throws {
      let reader = try openTrace(directory)
      var output = BufferedOutput()
      while let event = try readEvent(reader) {
        guard case .syscall(let e) = event, !e.isUnfinished else { continue }
        let fitting = Anomaly.fitting(e)
        let errnoFits = Anomaly.error(5).misfit(for: e) == nil
        guard errnoFits || !fitting.isEmpty else { continue }
        let names = fitting.map { anomalyName($0) }
        if format == "json" {
          let object: [String: Any] = [
            "event": e.index, "pid": e.tid, "syscall": SyscallTable.syscall(numbered: e.number)?.name ?? "\(e.number)",
            "text": lineOf(event), "anomalies": names, "errno": errnoFits,
          ]
          output.write(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
        } else {
          output.write("\(EventLine.text(event, stringLimit: 32))    [" + ((errnoFits ? ["errno"] : []) + names).joined(separator: ", ") + "]")
        }
      }
      output.flush()
    }

    /// The name a user gives for this anomaly (`short`, `filetype`, `enospc`...).
    private func anomalyName(_ anomaly: Anomaly) -> String {
      switch anomaly {
      case .short: "short"
      case .fileType: "filetype"
      case .timeout: "timeout"
      case .clockShift: "clock"
      case .error(let errno): ErrnoNames.lookup(errno)?.name.lowercased() ?? "errno"
      }
    }

    /// One `rewind inject` per opportunity, as many at once as there are cores (at most 8),
    /// in separate processes (each replays the trace and may go live).
    private func runCampaign(_ directory: String, anomaly: Anomaly) throws {
      let reader = try openTrace(directory)
      var found: [SyscallEvent] = []
      while let event = try readEvent(reader) {
        if case .syscall(let e) = event, anomaly.misfit(for: e) == nil { found.append(e) }
      }
      let base = output ?? directory + "-campaign-\(anomaly.description.replacingOccurrences(of: ":", with: "-"))"
      let option: String
      if case .error = anomaly { option = "--errno" } else { option = "--anomaly" }  // an error's description is its errno's name
      let arguments = [option, anomaly.description]
      let targets = found
      let results = CampaignResults(count: targets.count)
      let cores = max(1, min(ProcessInfo.processInfo.activeProcessorCount, 8))
      DispatchQueue.concurrentPerform(iterations: cores) { worker in
        for index in stride(from: worker, to: targets.count, by: cores) {
          let e = targets[index]
          let process = Process()
          process.executableURL = URL(fileURLWithPath: "/proc/self/exe")  // this rewind
          process.arguments = ["inject", "--at", "\(e.index)"] + arguments + ["--format", "json", "--timeout", "\(timeout)", "-o", base + "/\(e.index)", directory]
          let pipe = Pipe()
          process.standardOutput = pipe
          process.standardError = FileHandle(forWritingAtPath: "/dev/null")
          process.standardInput = FileHandle(forReadingAtPath: "/dev/null")
          var reaction = "rewind failed"
          var detail = ""
          if (try? process.run()) != nil {
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            if let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] {
              reaction = object["reaction"] as? String ?? reaction
              detail = object["end"] as? String ?? ""
            } else {
              detail = "exit \(process.terminationStatus)"
            }
          }
          results.set(index, reaction, detail)
        }
      }
      let rows = zip(targets, results.rows).map { ($0, $1.0, $1.1) }
      var output = BufferedOutput()
      if format == "json" {
        for (e, reaction, detail) in rows {
          let object: [String: Any] = ["event": e.index, "pid": e.tid, "text": lineOf(.syscall(e)), "reaction": reaction, "end": detail]
          output.write(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
        }
      } else {
        output.write("\(targets.count) opportunit\(targets.count == 1 ? "y" : "ies") for \(anomaly) in \(directory)")
        func column(_ text: String, _ width: Int) -> String { text.padding(toLength: max(width, text.count + 1), withPad: " ", startingAt: 0) }
        output.write(column("event", 8) + column("reaction", 22) + column("ended", 34) + "call")
        for (e, reaction, detail) in rows {
          let line: String = column("\(e.index)", 8) + column(reaction, 22) + column(detail, 34)
          output.write(line + "[\(e.tid)] " + lineOf(.syscall(e)))
        }
      }
      output.flush()
    }

    // MARK: Reports

    private func endText(_ report: InjectionReport) -> String {
      if let live = report.live {
        switch live.end {
        case .exited(let code): return "exited with status \(code)"
        case .killed(let signal, let place): return "killed by \(Signal(rawValue: signal))" + (place.map { " at \($0)" } ?? "")
        case .hung: return "hung (still running after \(timeout.formatted()) s; killed)"
        }
      }
      switch report.recordedEnd {
      case .exited(let code)?: return "exited with status \(code), as recorded"
      case .killed(let signal, _)?: return "killed by \(Signal(rawValue: signal)), as recorded"
      case nil: return "the recording ends before the program did"
      }
    }

    private func text(_ report: InjectionReport) -> String {
      var out = "injected at event \(report.injected.index), process \(report.pid) (thread \(report.injected.tid)):\n"
      out += "  recorded: \(lineOf(.syscall(report.original)))\n"
      out += "  now:      \(lineOf(.syscall(report.injected)))\n"
      out += "followed the recording for \(report.followedCalls.count) call\(report.followedCalls.count == 1 ? "" : "s") after it\n"
      for call in report.followedCalls.prefix(20) { out += "  \(EventLine.text(.syscall(call), stringLimit: 32))\n" }
      if report.followedCalls.count > 20 { out += "  ... (\(report.followedCalls.count - 20) more)\n" }
      if let noticed = report.noticedAt {
        out += "noticed at event \(noticed.event?.index ?? 0), where the recording has \(noticed.event.map(lineOf) ?? "nothing more")\n"
        for line in Self.reasons(noticed.difference) { out += "  \(line)\n" }
        if let live = report.live {
          out += "went live there\n"
          for line in live.restoredFiles { out += "  put back: \(line)\n" }
          for line in live.recreated { out += "  opened again: \(line)\n" }
          for line in live.notRecreated { out += "  not made again: \(line)\n" }
          out += "calls made live (\(live.calls.count)):\n"
          for line in live.calls { out += "  \(line)\n" }
          if case .hung(let threads) = live.end { for line in threads { out += "  \(line)\n" } }
        }
      } else {
        out += "the program did not notice: it made every recorded call to its end\n"
        for file in report.changedFiles {
          out += "  \(file.path): the recording wrote \(file.recordedBytes) bytes; with the injection it holds \(file.injectedBytes), "
            + "differing from byte \(file.firstDifference)" + (file.savedAs.map { " (that copy: \($0))" } ?? "") + "\n"
        }
      }
      if let trace = report.trace {
        out += "the injected run's trace: \(trace) (rewind replay -g \(report.injected.index) \(trace) debugs it from the injected call)\n"
      } else if let problem = report.traceProblem {
        out += "no trace of the injected run: \(problem)\n"
      }
      out += "ended: \(endText(report))\n"
      out += "reaction: \(report.reaction.rawValue)\n"
      return out
    }

    /// What replay saw differ, without the register-by-register lines: the first live call
    /// shows what the program did instead.
    static func reasons(_ differences: [String]) -> [String] {
      differences.filter { line in
        !line.hasPrefix("the recorded call: ") && !(line.contains(": recorded ") && line.contains(", replayed ") && line.split(separator: ":").first.map { !$0.contains(" ") } == true)
      }
    }

    private func json(_ report: InjectionReport) -> String {
      var object: [String: Any] = [
        "event": report.injected.index, "pid": report.pid, "tid": report.injected.tid,
        "syscall": SyscallTable.syscall(numbered: report.injected.number)?.name ?? "\(report.injected.number)",
        "recorded": lineOf(.syscall(report.original)), "injected": lineOf(.syscall(report.injected)),
        "followedCalls": report.followedCalls.map { lineOf(.syscall($0)) },
        "end": endText(report), "reaction": report.reaction.rawValue,
      ]
      if let noticed = report.noticedAt {
        object["noticed"] = ["event": noticed.event?.index ?? 0, "recorded": noticed.event.map(lineOf) ?? "", "differences": noticed.difference] as [String: Any]
      }
      if let live = report.live {
        object["live"] = ["calls": live.calls, "reopened": live.recreated, "notReopened": live.notRecreated, "restoredFiles": live.restoredFiles]
      }
      if let trace = report.trace { object["trace"] = trace }
      if let problem = report.traceProblem { object["traceProblem"] = problem }
      object["changedFiles"] = report.changedFiles.map {
        ["path": $0.path, "recordedBytes": $0.recordedBytes, "injectedBytes": $0.injectedBytes, "firstDifference": $0.firstDifference, "savedAs": $0.savedAs ?? ""] as [String: Any]
      }
      let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
      return String(decoding: data, as: UTF8.self) + "\n"
    }
  }
}

/// The campaign's runs' reactions, filled from several threads.
private final class CampaignResults: @unchecked Sendable {
  private let lock = NSLock()
  private(set) var rows: [(String, String)]
  init(count: Int) { rows = Array(repeating: ("", ""), count: count) }
  func set(_ index: Int, _ reaction: String, _ detail: String) {
    lock.lock()
    rows[index] = (reaction, detail)
    lock.unlock()
  }
}
