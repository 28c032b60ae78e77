import ArgumentParser
import CSupport
import Foundation
import LinuxTrace
import Replayer
import TraceFormat

extension Rewind {
  struct Replay: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Replay a recorded trace under gdb, or to its end with -a.",
      discussion: """
        TRACE is a trace directory or the name of one in the trace directory; without it, \
        the latest recording. Without -a, rewind serves the replay over the GDB remote \
        protocol and launches gdb on it (`monitor help` in gdb lists rewind's commands). \
        Exit status: 0 when the whole recording replayed faithfully (or the gdb session ended without a divergence), \
        \(ExitCodes.divergence) when replay diverged from the recording (a report says where), \
        \(ExitCodes.badTrace) when the trace cannot be read, 130 when ^C stopped a replay with -a (a second ^C ends \
        rewind at once).
        """)

    @Flag(name: .shortAndLong, help: "Replay to the end without a debugger.")
    var autopilot = false

    @Flag(name: .shortAndLong, help: "Do not echo what the program wrote to stdout and stderr.")
    var quiet = false

    @Option(
      name: .long,
      help: ArgumentHelp("With -a: replay only this recorded process (see `rewind ps`), after its ancestors up to the fork that made it.", valueName: "pid"))
    var process: Int32?

    @Option(name: .customShort("f"), help: ArgumentHelp("Debug the recorded process PID from its fork.", valueName: "pid"))
    var forked: Int32?

    @Option(name: .customShort("p"), help: ArgumentHelp("Debug the recorded process PID from its last exec.", valueName: "pid"))
    var execed: Int32?

    @Option(name: .customShort("g"), help: ArgumentHelp("Start debugging at trace-wide event EVENT (see `rewind dump`).", valueName: "event"))
    var goto: UInt64?

    @Option(
      name: .customShort("s"),
      help: ArgumentHelp("Serve the replay on PORT (0: any free port) without launching gdb, and print the gdb command that connects.", valueName: "port"))
    var serve: UInt16?

    @Option(name: .long, help: ArgumentHelp("The address the gdb server listens on (default 127.0.0.1: this machine only).", valueName: "address"))
    var bind = "127.0.0.1"

    @Option(
      name: .long,
      help: ArgumentHelp(
        "Under gdb, copy the replayed process every N events (`2000`), or seconds of replay (`2s`, `500ms`), 0 for never, so that going backwards replays from the copy before the place wanted rather than from the start; at most 64 copies are kept, older ones thinned out (default: 5000).",
        valueName: "spacing"))
    var checkpointEvery: String?

    @Argument(help: "The trace to replay (default: the latest recording).")
    var trace: String?

    @Argument(parsing: .postTerminator, help: "Arguments for gdb, after --.")
    var gdbArguments: [String] = []

    func validate() throws {
      if autopilot && (forked != nil || execed != nil || goto != nil || serve != nil || !gdbArguments.isEmpty) {
        throw ValidationError("-a replays without a debugger; -f, -p, -g, -s and gdb arguments are for debugging (use --process PID with -a)")
      }
      if autopilot && checkpointEvery != nil { throw ValidationError("--checkpoint-every is for debugging; -a replays straight through") }
      if let checkpointEvery, CheckpointSpacing(checkpointEvery) == nil {
        throw ValidationError("--checkpoint-every takes a number of events (5000) or of seconds (2s, 500ms), not '\(checkpointEvery)'")
      }
      if forked != nil && execed != nil { throw ValidationError("give either -f PID (from its fork) or -p PID (from its exec), not both") }
      if process != nil && !autopilot { throw ValidationError("--process is for -a; to debug one process use -f PID or -p PID") }
    }

    func run() throws {
      let directory: String
      do { directory = try TraceLocation.resolve(trace, root: TraceLocation.defaultRoot()) } catch {
        throw fail("\(error)", status: ExitCodes.badTrace)
      }
      guard autopilot else {
        try DebugCommand(
          directory: directory, forked: forked, execed: execed, event: goto, port: serve, host: bind, quiet: quiet,
          checkpointEvery: checkpointEvery.flatMap(CheckpointSpacing.init) ?? .events(5000), gdbArguments: gdbArguments
        ).run()
        return
      }
      let session: ReplaySession
      do { session = try ReplaySession(options: ReplayOptions(traceDirectory: directory, echoOutput: !quiet, process: process)) } catch {
        FileHandle.standardError.write(Data("\(error)\n".utf8))
        throw ExitCode(ExitCodes.badTrace)
      }
      // ^C reaches the replayed processes too, and replay stops at their SIGINT; a second
      // one ends rewind at once.
      rewind_ignore_first_interrupt()
      let cpu = TracerThread.currentCPU()
      let result = TracerThread.run(pinnedTo: cpu) { Result { try session.run(cpu: cpu) } }
      switch result {
      case .success(let outcome):
        recordCodePointStatistics(session, directory: directory)
        if outcome.recordingEndedEarly {
          FileHandle.standardError.write(
            Data("rewind: the recording ends after event \(outcome.eventsReplayed) before the program did (was the recorder killed?); all of it replayed.\n".utf8))
        }
      case .failure(let error as ReplayInterrupted):
        FileHandle.standardError.write(Data("\(error)\n".utf8))
        throw ExitCode(128 + error.signal.rawValue)
      case .failure(let error as Divergence):
        FileHandle.standardError.write(Data("\(error)\n".utf8))
        throw ExitCode(ExitCodes.divergence)
      case .failure(let error as ReplayStalled):
        FileHandle.standardError.write(Data("\(error)\n".utf8))
        throw ExitCode(ExitCodes.divergence)
      case .failure(let error as ReplayError):
        FileHandle.standardError.write(Data("\(error)\n".utf8))
        throw ExitCode(ExitCodes.badTrace)
      case .failure(let error):
        FileHandle.standardError.write(Data("rewind: replay failed: \(error)\n".utf8))
        throw ExitCode(ExitCodes.divergence)
      }
    }
  }
}

/// Keeps how ambiguous the code points were in this replay (`replay-stats.json` in the
/// trace), for `rewind stats`. A read-only trace simply keeps none.
func recordCodePointStatistics(_ session: ReplaySession, directory: String) {
  // Written by hand: JSONSerialization's first use costs milliseconds of runtime lookups.
  let text = """
    {"codePointsReached":\(session.codePointsReached),"codePointsReachedByStub":\(session.codePointsReachedByStub),\
    "passesRejected":\(session.codePointPassesRejected),"bufferedCallsServedInTracee":\(session.bufferedCallsServedInTracee),\
    "replayedAt":"\(ISO8601.string(from: Date()))"}

    """
  try? Data(text.utf8).write(to: URL(fileURLWithPath: directory + "/replay-stats.json"), options: .atomic)
}
