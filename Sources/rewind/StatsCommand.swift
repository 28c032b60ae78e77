import ArgumentParser
import Foundation
import TraceFormat

extension Rewind {
  struct Stats: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Summarize a recording: events by kind, system calls by name, signals, sizes, time, processes.")

    @Argument(help: "The trace (default: the latest recording).")
    var trace: String?

    @Flag(name: .long, help: "Print one JSON object instead of tables.")
    var json = false

    func run() throws {
      let reader = try openTrace(trace)
      var stats = TraceStatistics()
      while let event = try readEvent(reader) { stats.add(event) }
      let files = diskUsage(of: reader.directory + "/files")
      let streams = ["events", "data", "mmaps"].reduce(UInt64(0)) { total, name in
        var info = stat()
        return total + (stat(reader.directory + "/" + name, &info) == 0 ? UInt64(info.st_size) : 0)
      }
      let wallTime = reader.summary.map { $0.endTime.timeIntervalSince(reader.header.startTime) }
      let replayed = (try? Data(contentsOf: URL(fileURLWithPath: reader.directory + "/replay-stats.json")))
        .flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }
      if json {
        printJSON(stats, streams: streams, files: files, wallTime: wallTime, complete: reader.summary != nil && !reader.isTruncated, replayed: replayed)
      } else {
        printTables(stats, streams: streams, files: files, wallTime: wallTime, reader: reader, replayed: replayed)
      }
    }

    private func printTables(
      _ s: TraceStatistics, streams: UInt64, files: UInt64, wallTime: Double?, reader: TraceReader, replayed: [String: Any]?
    ) {
      print("trace      \(reader.directory)")
      print("command    \(reader.header.command.joined(separator: " "))")
      print("recorded   \(ISO8601.string(from: reader.header.startTime)) on \(reader.header.hostname), \(reader.header.cpuModel)")
      print("wall time  " + (wallTime.map { String(format: "%.3f s", $0) } ?? "- (the recording did not finish)"))
      print("events     \(s.events)  (" + s.eventsByKind.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ") + ")")
      let syscallCount = s.eventsByKind["syscall"] ?? 0
      print("syscalls   \(syscallCount): \(s.bufferedSyscalls) through the system call buffer, \(syscallCount - s.bufferedSyscalls) with ptrace stops")
      print("rdtsc      \(s.rdtscReads) reads")
      print("preempted  \(s.preemptions) times")
      let asynchronous = s.asynchronousSignals
      print(
        "code points \(s.preemptions + asynchronous) (\(s.preemptions) preemptions, \(asynchronous) signals sent by processes or timers; "
          + "\(s.codePointsWithMemory) with memory in their signature)")
      if let replayed, let reached = replayed["codePointsReached"] as? Int, let rejected = replayed["passesRejected"] as? Int {
        // Passes the in-process compare stub turns away never reach rewind, so they are not
        // in the count; the hardware breakpoint's are.
        let byStub = replayed["codePointsReachedByStub"] as? Int ?? 0
        print(
          "ambiguity  the last replay saw \(rejected) passes through a code point's instruction with other registers, over \(reached) code points"
            + (byStub > 0 ? " (\(byStub) found by the compare stub, whose own rejected passes are not counted)" : ""))
      }
      if let served = replayed?["bufferedCallsServedInTracee"] as? Int, s.bufferedSyscalls > 0 {
        print("replayed   the last replay served \(served) buffered calls in the program, without a stop")
      }
      print("recorded   \(byteCount(UInt64(s.memoryBytesRecorded))) of memory, \(byteCount(streams)) compressed in streams, \(byteCount(files)) of mapped files")
      print("\nsystem call            calls   errors")
      for (name, count) in s.syscalls.sorted(by: { ($0.value.calls, $1.key) > ($1.value.calls, $0.key) }) {
        print(name.padding(toLength: 20, withPad: " ", startingAt: 0) + pad(count.calls, 8) + pad(count.errors, 9))
      }
      if !s.signals.isEmpty {
        print("\nsignal               delivered")
        for (name, count) in s.signals.sorted(by: { $0.value > $1.value }) {
          print(name.padding(toLength: 20, withPad: " ", startingAt: 0) + pad(count, 10))
        }
      }
      print("\nprocess     events  syscalls  exit     command")
      for pid in s.processOrder {
        let p = s.processes[pid]!
        print(String(pid).padding(toLength: 8, withPad: " ", startingAt: 0) + pad(p.events, 10) + pad(p.syscalls, 10)
          + "  " + describe(p.exit).padding(toLength: 8, withPad: " ", startingAt: 0) + " " + p.command.joined(separator: " "))
      }
    }

    private func printJSON(
      _ s: TraceStatistics, streams: UInt64, files: UInt64, wallTime: Double?, complete: Bool, replayed: [String: Any]?
    ) {
      let object: [String: Any] = [
        "codePoints": s.preemptions + s.asynchronousSignals,
        "lastReplay": replayed.map { $0 as Any } ?? NSNull(),
        "events": s.events,
        "eventsByKind": s.eventsByKind,
        "syscalls": s.syscalls.mapValues { ["calls": $0.calls, "errors": $0.errors] },
        "signals": s.signals,
        "rdtscReads": s.rdtscReads,
        "bufferedSyscalls": s.bufferedSyscalls,
        "preemptions": s.preemptions,
        "codePointsWithMemory": s.codePointsWithMemory,
        "memoryBytesRecorded": s.memoryBytesRecorded,
        "streamBytes": streams,
        "mappedFileBytes": files,
        "wallTimeSeconds": wallTime.map { $0 as Any } ?? NSNull(),
        "complete": complete,
        "processes": s.processOrder.map { pid -> [String: Any] in
          let p = s.processes[pid]!
          return ["pid": pid, "events": p.events, "syscalls": p.syscalls, "command": p.command, "exit": describe(p.exit)]
        },
      ]
      let data = (try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])) ?? Data()
      print(String(decoding: data, as: UTF8.self))
    }

    private func pad(_ value: Int, _ width: Int) -> String {
      let text = String(value)
      return String(repeating: " ", count: max(0, width - text.count)) + text
    }
  }
}
