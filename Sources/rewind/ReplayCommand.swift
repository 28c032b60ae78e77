import ArgumentParser
import Foundation
import LinuxTrace
import Replayer
import TraceFormat

extension Rewind {
  struct Replay: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Replay a recorded trace.",
      discussion: """
        TRACE is a trace directory or the name of one in the trace directory; without it, \
        the latest recording. Exit status: 0 when the whole recording replayed faithfully, \
        \(ExitCodes.divergence) when replay diverged from the recording (a report says where), \
        \(ExitCodes.badTrace) when the trace cannot be read.
        """)

    @Flag(name: .shortAndLong, help: "Replay to the end without a debugger.")
    var autopilot = false

    @Flag(name: .shortAndLong, help: "Do not echo what the program wrote to stdout and stderr.")
    var quiet = false

    @Option(name: .long, help: "Replay only this recorded process (see `rewind ps`), after its ancestors up to the fork that made it.")
    var process: Int32?

    @Argument(help: "The trace to replay (default: the latest recording).")
    var trace: String?

    func validate() throws {
      if !autopilot {
        throw ValidationError(
          "Replaying under gdb is not built yet; replay without a debugger with: rewind replay -a \(trace ?? "")")
      }
    }

    func run() throws {
      let directory: String
      do { directory = try TraceLocation.resolve(trace, root: TraceLocation.defaultRoot()) } catch {
        throw fail("\(error)", status: ExitCodes.badTrace)
      }
      let session: ReplaySession
      do { session = try ReplaySession(options: ReplayOptions(traceDirectory: directory, echoOutput: !quiet, process: process)) } catch {
        FileHandle.standardError.write(Data("\(error)\n".utf8))
        throw ExitCode(ExitCodes.badTrace)
      }
      let cpu = TracerThread.currentCPU()
      let result = TracerThread.run(pinnedTo: cpu) { Result { try session.run(cpu: cpu) } }
      switch result {
      case .success(let outcome):
        recordCodePointStatistics(session, directory: directory)
        if outcome.recordingEndedEarly {
          FileHandle.standardError.write(
            Data("rewind: the recording ends after event \(outcome.eventsReplayed) before the program did (was the recorder killed?); all of it replayed.\n".utf8))
        }
      case .failure(let error as Divergence):
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
  let object: [String: Any] = [
    "codePointsReached": session.codePointsReached,
    "passesRejected": session.codePointPassesRejected,
    "codePointsReachedByStub": session.codePointsReachedByStub,
    "replayedAt": ISO8601DateFormatter().string(from: Date()),
  ]
  if let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) {
    try? data.write(to: URL(fileURLWithPath: directory + "/replay-stats.json"), options: .atomic)
  }
}
