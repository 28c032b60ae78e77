import ArgumentParser
import Foundation
import Syscalls
import TraceFormat

extension Rewind {
  struct Dump: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Print the events of a recording, numbered, in strace's format.",
      discussion: "Reads the trace sequentially, so it starts printing at once on traces of millions of events.")

    @Argument(help: "The trace (default: the latest recording).")
    var trace: String?

    @Option(name: .long, help: "Only events of this recorded pid (repeatable).")
    var pid: [Int32] = []

    @Option(name: .long, help: "Only these system calls, comma-separated (e.g. read,write); other events are left out.")
    var syscall: String?

    @Option(name: .long, help: "First event number to print.")
    var from: UInt64?

    @Option(name: .long, help: "Last event number to print.")
    var to: UInt64?

    @Option(name: .long, help: "text (default) or json (one object per line).")
    var format: String = "text"

    @Flag(name: .long, help: "Lines as `strace -f -o FILE` writes them (PID, then the call), for tools that parse strace logs.")
    var strace = false

    @Option(name: [.customShort("s"), .long], help: "Longest string to print, as strace -s.")
    var stringLimit: Int = 32

    @Flag(name: [.customShort("v"), .long], help: "Structures in full, the environment and directory entries listed, as strace -v.")
    var verbose = false

    @Option(
      name: [.customShort("X"), .customLong("const-print-style")],
      help: "How constants print, as strace -X: abbrev (names, the default), raw (numbers) or verbose (numbers, names in a comment).")
    var constantStyle: ConstantStyle = .abbrev

    func validate() throws {
      if format != "text" && format != "json" { throw ValidationError("--format is text or json, not '\(format)'.") }
      if let syscall {
        for name in syscall.split(separator: ",") where SyscallTable.syscall(named: String(name)) == nil {
          throw ValidationError("'\(name)' is not an x86-64 system call name (as in `strace -e trace=`).")
        }
      }
      if let from, let to, from > to { throw ValidationError("--from \(from) is after --to \(to).") }
    }

    func run() throws {
      try ConstantStyle.$current.withValue(constantStyle) { try list() }
    }

    private func list() throws {
      let reader = try openTrace(trace)
      let names = syscall.map { Set($0.split(separator: ",").map(String.init)) }
      var output = BufferedOutput()
      // With -v, an execve's line waits for its exec event, which holds the environment
      // the call passed (the trace keeps it there, not with the call).
      var heldExecve: TraceEvent?
      func write(_ event: TraceEvent, environment: [String]? = nil) {
        var line: String?
        if format == "json" {
          line = EventLine.json(event, stringLimit: stringLimit, verbose: verbose)
        } else if strace {
          line = EventLine.straceText(event, stringLimit: stringLimit, verbose: verbose)
        } else {
          line = EventLine.text(event, stringLimit: stringLimit, verbose: verbose)
        }
        if let environment, let text = line, let range = text.range(of: #"0x[0-9a-f]+ /\* \d+ vars? \*/"#, options: .regularExpression) {
          line = text.replacingCharacters(in: range, with: SyscallFormatter.stringList(environment, stringLimit: stringLimit))
        }
        if let line { output.write(line) }
      }
      while let event = try readEvent(reader) {
        if let held = heldExecve {
          heldExecve = nil
          if case .exec(let exec) = event, exec.tid == held.tid { write(held, environment: exec.envp) } else { write(held) }
        }
        if let to, event.index > to { break }
        if let from, event.index < from { continue }
        if !pid.isEmpty && !pid.contains(event.tid) { continue }
        if let names {
          guard case .syscall(let e) = event, let call = SyscallTable.syscall(numbered: e.number), names.contains(call.name)
          else { continue }
        }
        if verbose, case .syscall(let call) = event, call.number == 59 || call.number == 322, call.result == 0 {
          heldExecve = event
          continue
        }
        write(event)
      }
      if let held = heldExecve { write(held) }
      output.flush()
      if reader.isTruncated {
        FileHandle.standardError.write(Data("rewind: the recording ends here; its recorder was killed.\n".utf8))
      }
    }
  }
}

/// Opens the trace the user named (or the latest), or exits 2 with the reason.
func openTrace(_ argument: String?) throws -> TraceReader {
  do {
    return try TraceReader(directory: try TraceLocation.resolve(argument, root: TraceLocation.defaultRoot()))
  } catch {
    throw fail("\(error)", status: ExitCodes.badTrace)
  }
}

func readEvent(_ reader: TraceReader) throws -> TraceEvent? {
  do { return try reader.nextEvent() } catch { throw fail("\(error)", status: ExitCodes.badTrace) }
}

/// Line output through one buffer: dump prints millions of lines.
struct BufferedOutput {
  private var buffer: [UInt8] = []
  mutating func write(_ line: String) {
    buffer.append(contentsOf: line.utf8)
    buffer.append(0x0a)
    if buffer.count > 1 << 16 { flush() }
  }
  mutating func flush() {
    FileHandle.standardOutput.write(Data(buffer))
    buffer.removeAll(keepingCapacity: true)
  }
}

extension ConstantStyle: ExpressibleByArgument {}
