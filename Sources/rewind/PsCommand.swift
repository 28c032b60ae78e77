import ArgumentParser
import Foundation
import LinuxTrace
import Replayer
import TraceFormat

extension Rewind {
  struct Ps: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "List the processes of a recording, with their exit statuses.",
      discussion: """
        One row per process in creation order: the recorded pid, its parent, how it ended (its \
        exit code, or the signal that killed it; - when the recording ends first) and its \
        command line. Give a PID to `rewind replay --process` to replay that process alone.
        """)

    @Argument(help: "The trace (default: the latest recording).")
    var trace: String?

    @Flag(name: .long, help: "Print a JSON array instead of a table.")
    var json = false

    func run() throws {
      let reader = try openTrace(trace)
      let table: ProcessTable
      do { table = try ProcessTable(reader: reader) } catch { throw fail("\(error)", status: ExitCodes.badTrace) }
      if json {
        let objects: [[String: Any]] = table.processes.map { process in
          var object: [String: Any] = [
            "pid": process.pid, "ppid": process.parent.map { $0 as Any } ?? NSNull(), "command": process.command,
            "exitCode": NSNull(), "signal": NSNull(),
          ]
          switch process.exit {
          case .exited(let code)?: object["exitCode"] = code
          case .killed(let signal, _)?: object["signal"] = Signal(rawValue: signal).description
          case nil: break
          }
          return object
        }
        let data = try JSONSerialization.data(withJSONObject: objects, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        print(String(decoding: data, as: UTF8.self))
        return
      }
      print("PID\tPPID\tEXIT\tCMD")
      for process in table.processes {
        let exit: String
        switch process.exit {
        case .exited(let code)?: exit = "\(code)"
        case .killed(let signal, _)?: exit = Signal(rawValue: signal).description
        case nil: exit = "-"
        }
        print("\(process.pid)\t\(process.parent.map(String.init) ?? "-")\t\(exit)\t\(process.command.joined(separator: " "))")
      }
      if reader.isTruncated {
        FileHandle.standardError.write(Data("rewind: the recording ends early (its recorder was killed); processes still running then show exit -.\n".utf8))
      }
    }
  }
}
