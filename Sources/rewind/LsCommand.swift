import ArgumentParser
import Foundation
import TraceFormat
import VirtualMachine

extension Rewind {
  struct Ls: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "List the recordings in the trace directory, oldest first.",
      discussion: "The trace directory is $REWIND_TRACE_DIR, else $XDG_DATA_HOME/rewind, else ~/.local/share/rewind.")

    func run() throws {
      let root = TraceLocation.defaultRoot()
      let names = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).filter { !$0.hasPrefix(".") }
      let latest = try? TraceLocation.resolve(nil, root: root)
      var rows: [(date: Date, line: String)] = []
      for name in names where name != TraceLocation.latestLinkName {
        let path = root + "/" + name
        if VMTrace.isVMTrace(path), let trace = try? VMTrace(directory: path) {
          rows.append((trace.header.startTime, vmRow(trace, name: name, path: path, latest: latest)))
          continue
        }
        guard let reader = try? TraceReader(directory: path) else { continue }
        let status: String
        if let summary = reader.summary { status = describe(summary.exitStatus) } else { status = "unfinished" }
        let date = reader.header.startTime
        let mark = latest.map { URL(fileURLWithPath: $0).standardizedFileURL.path == URL(fileURLWithPath: path).standardizedFileURL.path } == true ? "*" : " "
        let line = mark + " " + name.padding(toLength: 24, withPad: " ", startingAt: 0) + " "
          + Ls.dateFormat.string(from: date) + "  " + byteCount(diskUsage(of: path)).padding(toLength: 10, withPad: " ", startingAt: 0)
          + " " + status.padding(toLength: 10, withPad: " ", startingAt: 0) + " " + reader.header.command.joined(separator: " ")
        rows.append((date, line))
      }
      if rows.isEmpty {
        print("No recordings in \(root). Record one with `rewind record PROGRAM`.")
        return
      }
      print("  NAME                     DATE                 SIZE       EXIT       COMMAND")
      for row in rows.sorted(by: { $0.date < $1.date }) { print(row.line) }
    }

    /// A whole-machine trace (`rewind vm record`): how it ended is the guest's shutdown.
    private func vmRow(_ trace: VMTrace, name: String, path: String, latest: String?) -> String {
      let names = ["guest-shutdown": "poweroff", "guest-reset": "reboot", "guest-panic": "panic", "host-signal": "stopped"]
      let status = trace.summary.map { summary in summary.shutdown.first.map { names[$0] ?? $0 } ?? "ended" } ?? "unfinished"
      let mark = latest.map { URL(fileURLWithPath: $0).standardizedFileURL.path == URL(fileURLWithPath: path).standardizedFileURL.path } == true ? "*" : " "
      return mark + " " + name.padding(toLength: 24, withPad: " ", startingAt: 0) + " "
        + Ls.dateFormat.string(from: trace.header.startTime) + "  " + byteCount(diskUsage(of: path)).padding(toLength: 10, withPad: " ", startingAt: 0)
        + " " + status.padding(toLength: 10, withPad: " ", startingAt: 0) + " " + (["rewind"] + trace.header.command.dropFirst()).joined(separator: " ")
    }

    static let dateFormat: DateFormatter = {
      let format = DateFormatter()
      format.dateFormat = "yyyy-MM-dd HH:mm:ss"
      return format
    }()
  }

  struct Rm: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Delete recordings (a name in the trace directory, or a path).",
      discussion: "Refuses anything that is not a rewind trace.")

    @Argument(help: "The recordings to delete.")
    var traces: [String] = []

    func validate() throws {
      if traces.isEmpty { throw ValidationError("Name the recording to delete (see `rewind ls`).") }
    }

    func run() throws {
      let root = TraceLocation.defaultRoot()
      for name in traces {
        let path: String
        do { path = try TraceLocation.resolve(name, root: root) } catch { throw fail("\(error)", status: ExitCodes.badTrace) }
        // Only what a reader accepts as a trace header is deleted: never an arbitrary directory.
        var isDirectory: ObjCBool = false
        let isProgramTrace =
          FileManager.default.fileExists(atPath: path + "/header.json")
          && (try? JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path + "/header.json"))) as? [String: Any])?["formatVersion"] != nil
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue,
          isProgramTrace || VMTrace.isVMTrace(path)
        else {
          throw fail("'\(path)' is not a rewind trace (no header.json with a formatVersion, no vm.json); not deleting it.", status: ExitCodes.badTrace)
        }
        let wasLatest = (try? TraceLocation.resolve(nil, root: root)).map { URL(fileURLWithPath: $0).standardizedFileURL == URL(fileURLWithPath: path).standardizedFileURL } ?? false
        do { try FileManager.default.removeItem(atPath: path) } catch { throw fail("cannot delete '\(path)': \(error)", status: 1) }
        print("deleted \(path)")
        if wasLatest { repointLatest(root: root) }
      }
    }

    /// After deleting the latest recording, latest-trace names the newest one left.
    private func repointLatest(root: String) {
      let names = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
      let newest = names.compactMap { name -> (Date, String)? in
        guard name != TraceLocation.latestLinkName, let reader = try? TraceReader(directory: root + "/" + name) else { return nil }
        return (reader.header.startTime, root + "/" + name)
      }.max { $0.0 < $1.0 }
      if let newest {
        try? TraceLocation.updateLatest(root: root, directory: newest.1)
      } else {
        unlink(root + "/" + TraceLocation.latestLinkName)
      }
    }
  }
}
