import ArgumentParser
import Foundation
import Glibc
import LinuxTrace
import Symbols
import Watch

extension Rewind {
  struct WatchMemory: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "watch",
      abstract: "Report every access to memory with a backtrace: in a live program (hardware watchpoints) or in a recording.",
      discussion: """
        Examples:
          rewind watch -p PID --symbol session_table --len 8
          rewind watch --addr 0x4c2f10 --len 4 --write -- ./server --port 8080
          rewind watch --expr 'cfg->limits.max' -p PID
          rewind watch --symbol counter [TRACE]

        The first attaches to a running process (all its threads), the second starts a program under \
        watch, the third resolves a C expression over global or static data through DWARF, the last \
        lists every write in a recording, in order, with its event. Up to four ranges of 1, 2, 4 or 8 \
        aligned bytes each (x86 has four debug registers); a longer or unaligned range takes several. \
        Each hit prints the time (the event in a recording), pid and tid, the access, the instruction \
        that made it, old and new value and a backtrace symbolized from DWARF (elfutils), inlined \
        frames included. The program is never stopped for a person: ^C, SIGTERM, SIGHUP, --duration \
        or --max-hits detach, clearing every debug register first, and a program started here runs on. \
        A program can ask to be watched itself with include/rewind/watch.h (a no-op outside rewind). \
        Exit status: the started program's status, else 0; 64 for a bad request, 1 when rewind cannot \
        attach.
        """)

    @Option(name: .customShort("p"), help: ArgumentHelp("Attach to the running process PID (all its threads).", valueName: "pid"))
    var attachPid: Int32?

    @Option(name: .long, help: ArgumentHelp("Watch the global or static variable NAME (its symbol's size unless --len).", valueName: "name"))
    var symbol: [String] = []

    @Option(name: .long, help: ArgumentHelp("Watch memory at ADDRESS (0x hex or decimal), --len bytes (default 8).", valueName: "address"))
    var addr: [String] = []

    @Option(name: .long, help: ArgumentHelp("Watch a C expression over global or static data: NAME, .MEMBER, ->MEMBER, [N], leading *.", valueName: "expression"))
    var expr: [String] = []

    @Option(name: .long, help: ArgumentHelp("Bytes to watch (1-32), instead of the symbol's or expression's size.", valueName: "bytes"))
    var len: Int?

    @Flag(name: .long, help: "Report writes only (the default).")
    var write = false

    @Flag(name: .long, help: "Report reads and writes (x86 cannot watch reads alone).")
    var readWrite = false

    @Option(name: .long, help: ArgumentHelp("Frames in each backtrace.", valueName: "n"))
    var depth = 16

    @Option(name: .long, help: ArgumentHelp("Do not report accesses made in FUNCTION (or code inlined into it); repeatable.", valueName: "function"))
    var ignore: [String] = []

    @Flag(name: .long, help: "Report only accesses that change the value.")
    var changesOnly = false

    @Option(name: .long, help: ArgumentHelp("Stop after N reported hits.", valueName: "n"))
    var maxHits: Int?

    @Flag(name: .long, help: "With -p: serve the program's own requests (rewind/watch.h) by putting rewind's seccomp filter into it; the filter stays after rewind detaches (the calls then fail with ENOSYS, as without rewind). A program started here always gets it.")
    var api = false

    @Flag(name: .long, help: "Also watch children the program forks (live).")
    var followForks = false

    @Option(name: .long, help: ArgumentHelp("Detach after SECONDS (live).", valueName: "seconds"))
    var duration: Double?

    @Option(name: .long, help: ArgumentHelp("In a recording: the recorded process to watch (default: the first; see `rewind ps`).", valueName: "pid"))
    var process: Int32?

    @Option(name: .long, help: ArgumentHelp("text, or json: one JSON object a report.", valueName: "format"))
    var format = "text"

    @Argument(help: "A recording to watch (default: the latest), when neither -p nor a program is given.")
    var trace: String?

    @Argument(parsing: .postTerminator, help: "The program to start under watch, after --.")
    var command: [String] = []

    func validate() throws {
      if symbol.isEmpty && addr.isEmpty && expr.isEmpty && !(attachPid != nil && api) && command.isEmpty {
        throw ValidationError("say what to watch: --symbol NAME, --addr ADDRESS or --expr EXPRESSION (or, with -p, --api for the program's own requests)")
      }
      if api && attachPid == nil { throw ValidationError("--api is for -p: a program started here is always served") }
      if attachPid != nil && !command.isEmpty { throw ValidationError("give either -p PID (attach) or a program after --, not both") }
      if attachPid != nil && trace != nil {
        throw ValidationError("-p attaches to a live process; to watch a recorded process use --process PID with the trace")
      }
      if trace != nil && !command.isEmpty { throw ValidationError("give either a recording or a program after --, not both") }
      if write && readWrite { throw ValidationError("--write and --read-write exclude each other") }
      if let len, len < 1 || len > 32 {
        throw ValidationError("--len \(len): four debug registers watch at most 32 bytes; give 1 to 32")
      }
      if depth < 1 || depth > 256 { throw ValidationError("--depth takes 1 to 256 frames, not \(depth)") }
      if let maxHits, maxHits < 1 { throw ValidationError("--max-hits takes a positive count, not \(maxHits)") }
      if let duration, !(duration > 0) { throw ValidationError("--duration takes a positive number of seconds") }
      if format != "text" && format != "json" { throw ValidationError("--format is text or json, not '\(format)'") }
      for address in addr where Self.parseAddress(address) == nil {
        throw ValidationError("--addr '\(address)' is not an address: give 0x hex (0x4c2f10) or decimal")
      }
      let isLive = attachPid != nil || !command.isEmpty
      if isLive && process != nil { throw ValidationError("--process chooses a recorded process; live, use -p PID") }
      if !isLive && (followForks || duration != nil) {
        throw ValidationError("--follow-forks and --duration are for live programs (-p PID or a program after --)")
      }
    }

    static func parseAddress(_ text: String) -> UInt64? {
      if text.hasPrefix("0x") || text.hasPrefix("0X") { return UInt64(text.dropFirst(2), radix: 16) }
      return UInt64(text)
    }

    var access: WatchAccess { readWrite ? .readOrWrite : .write }

    var watchOptions: WatchOptions {
      var options = WatchOptions()
      options.depth = depth
      options.ignoredFunctions = Set(ignore)
      options.changesOnly = changesOnly
      options.maxHits = maxHits
      options.followForks = followForks
      options.duration = duration
      options.json = format == "json"
      options.serveAPIWhenAttached = api
      return options
    }

    /// The ranges the user asked for, in the process `symbolizer` describes.
    func ranges(_ symbolizer: Symbolizer) throws -> [WatchRange] {
      var result: [WatchRange] = []
      for name in symbol {
        guard let found = symbolizer.symbol(named: name) else {
          throw WatchError("no symbol '\(name)' in the program or its libraries (a static variable needs a symbol table: is the program stripped?)", status: 64)
        }
        switch found.kind {
        case .function:
          throw WatchError("'\(name)' is a function, not data: watch a variable", status: 64)
        case .threadLocal:
          throw WatchError("'\(name)' is thread-local: each thread has its own copy; watch one with --addr", status: 64)
        case .data:
          break
        }
        guard let length = len ?? (found.size > 0 ? Int(found.size) : nil) else {
          throw WatchError("'\(name)' has no size in the symbol table: give --len", status: 64)
        }
        result.append(WatchRange(address: found.address, length: length, access: access, label: name))
      }
      for expression in expr {
        let resolved: (address: UInt64, size: UInt64)
        do { resolved = try symbolizer.resolve(expression: expression) } catch { throw WatchError("--expr '\(expression)': \(error)", status: 64) }
        result.append(WatchRange(address: resolved.address, length: len ?? Int(resolved.size), access: access, label: expression))
      }
      for text in addr {
        result.append(WatchRange(address: Self.parseAddress(text)!, length: len ?? 8, access: access, label: text))
      }
      for range in result where range.length > 32 {
        throw WatchError("\(range.label) is \(range.length) bytes; four debug registers watch at most 32: give --len, or watch a member with --expr", status: 64)
      }
      return result
    }

    func run() throws {
      if attachPid == nil && command.isEmpty {
        try RecordingWatch(command: self).run()
        return
      }
      let target: WatchTarget
      if let attachPid {
        target = .attach(pid: attachPid)
      } else {
        let program = try ProgramLocator.locate(command[0])
        target = .launch(path: program, arguments: command, environment: ProcessInfo.processInfo.environment.map { "\($0)=\($1)" })
      }
      let watcher = LiveWatcher(
        options: watchOptions, resolve: { try self.ranges($0) }, emit: { writeOut($0) }, guardian: startWatchGuardian())
      let outcome: WatchOutcome
      do {
        outcome = try watcher.run(target, started: { printToStandardError($0) })
      } catch {
        throw fail(error.description, status: error.status)
      }
      printToStandardError("rewind: \(outcome.reason); \(outcome.hits) hit\(outcome.hits == 1 ? "" : "s") reported, detached")
      if let status = outcome.programStatus, status != 0 { throw ExitCode(status) }
    }
  }
}

/// Writes `text` to stdout at once (reports must not wait in a buffer while the program runs).
func writeOut(_ text: String) {
  var bytes = Array(text.utf8)
  var done = 0
  while done < bytes.count {
    let r = bytes.withUnsafeMutableBytes { Glibc.write(1, $0.baseAddress! + done, $0.count - done) }
    if r <= 0 { return }
    done += r
  }
}

extension Rewind {
  /// `rewind watch-guardian`: started by `rewind watch`, clears the debug registers of
  /// the processes it names if rewind dies without detaching (see `GuardianLink`).
  struct WatchGuardian: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "watch-guardian", abstract: "Internal to `rewind watch`.", shouldDisplay: false)

    func run() throws {
      // Out of the terminal's process group: a ^C meant for rewind must not end it first.
      _ = setsid()
      GuardianLink.serve()
    }
  }
}

/// Starts `rewind watch-guardian` on one end of a socket pair and returns the link over
/// the other; nil (watching goes on unguarded) when it cannot be started.
func startWatchGuardian() -> GuardianLink? {
  var ends: [Int32] = [-1, -1]
  guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &ends) == 0 else { return nil }
  let guardian = Process()
  guardian.executableURL = URL(fileURLWithPath: "/proc/self/exe")
  guardian.arguments = ["watch-guardian"]
  guardian.standardInput = FileHandle(fileDescriptor: ends[1], closeOnDealloc: false)
  guardian.standardOutput = FileHandle.nullDevice
  do { try guardian.run() } catch {
    close(ends[0])
    close(ends[1])
    return nil
  }
  close(ends[1])
  if ProcessInfo.processInfo.environment["REWIND_DEBUG_WATCH"] != nil {
    printToStandardError("rewind: guardian \(guardian.processIdentifier)")
  }
  return GuardianLink(socket: ends[0])
}
