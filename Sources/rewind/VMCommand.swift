import ArgumentParser
import CSupport
import Foundation
import TraceFormat
import VirtualMachine

extension Rewind {
  /// `rewind vm ...`: whole virtual machines, kernel included, recorded and replayed by QEMU's
  /// record/replay engine (icount mode, TCG).
  struct VM: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "vm",
      abstract: "Record and replay a whole virtual machine, kernel included (QEMU's record/replay).",
      discussion: """
        QEMU (qemu-system-x86 7.2, TCG with icount: one vCPU, no KVM) records every input of the \
        machine into a replay log; the trace directory keeps the kernel, initrd, a copy-on-write \
        overlay of the disk, QEMU's version and the whole machine configuration. A replay \
        refuses another QEMU version or configuration. Install what VM mode needs with \
        scripts/setup.sh --vm; scripts/example-guest.sh OUTDIR builds a guest to try.

        Examples:
          rewind vm record --kernel bzImage --initrd rootfs.cpio.gz -o /tmp/boot
          rewind vm replay -a /tmp/boot
          rewind vm replay /tmp/boot --symbols System.map --checkpoint-every 100M
          rewind vm stats /tmp/boot
        """,
      subcommands: [VMRecord.self, VMReplay.self, VMStats.self, VMLogInstructions.self])
  }
}

/// Exit statuses of VM mode beyond the shared ones.
enum VMExit {
  static let usage: Int32 = 64
  /// QEMU (or another tool) is not installed.
  static let unavailable: Int32 = 69

  /// Prints a VM error as rewind's other errors are printed and maps it to its exit status.
  static func fail(_ error: Error) -> ExitCode {
    guard let error = error as? VMError else { return rewind.fail("\(error)", status: 1) }
    switch error.kind {
    case .usage: return rewind.fail(error.message, status: usage)
    case .missingTool: return rewind.fail(error.message, status: unavailable)
    case .badTrace: return rewind.fail(error.message, status: ExitCodes.badTrace)
    case .failed: return rewind.fail(error.message, status: 1)
    }
  }

  /// Resolves a trace argument: a name in the trace directory or a path; without one, the
  /// newest VM trace there.
  static func resolve(_ argument: String?) throws -> VMTrace {
    let root = TraceLocation.defaultRoot()
    let path: String
    if let argument {
      do { path = try TraceLocation.resolve(argument, root: root) } catch {
        throw VMError(
          .badTrace,
          "'\(argument)' is not a VM trace: there is no such directory, and no trace of that name in '\(root)' (`rewind ls` lists them); record one with `rewind vm record --kernel bzImage --initrd rootfs.cpio.gz`")
      }
    } else {
      let names = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
      let newest = names.compactMap { name -> VMTrace? in
        VMTrace.isVMTrace(root + "/" + name) ? try? VMTrace(directory: root + "/" + name) : nil
      }.max { $0.header.startTime < $1.header.startTime }
      guard let newest else {
        throw VMError(.usage, "no VM trace in \(root); name one, or record one with `rewind vm record --kernel bzImage --initrd rootfs.cpio.gz`")
      }
      return newest
    }
    return try VMTrace(directory: path)
  }

  /// "100M" → 100_000_000 (K, M, G are powers of ten: these are instruction counts).
  static func parseCount(_ text: String, option: String) throws -> UInt64 {
    var digits = text.trimmingCharacters(in: .whitespaces)
    var multiplier: UInt64 = 1
    switch digits.last {
    case "k", "K": multiplier = 1_000
    case "m", "M": multiplier = 1_000_000
    case "g", "G": multiplier = 1_000_000_000
    default: break
    }
    if multiplier != 1 { digits.removeLast() }
    guard let value = UInt64(digits) else {
      throw VMError(.usage, "\(option) \(text): give a number of guest instructions, such as 100M, 5000000 or 2G")
    }
    let (product, overflow) = value.multipliedReportingOverflow(by: multiplier)
    guard !overflow else { throw VMError(.usage, "\(option) \(text): too large") }
    return product
  }
}

/// The name of the shared error printer, reachable from inside types that define their own.
private enum rewind {
  static func fail(_ message: String, status: Int32) -> ExitCode { rewindFail(message, status: status) }
}

private func rewindFail(_ message: String, status: Int32) -> ExitCode { fail(message, status: status) }

struct VMRecord: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "record",
    abstract: "Record a virtual machine from boot to poweroff.",
    discussion: """
      QEMU runs the kernel with -icount shift=auto,rr=record under TCG, one vCPU, and \
      -global apic-common.vapic=off (needed for snapshots to load in replay). The guest's \
      serial port is echoed here and kept in the trace; the recording ends when the guest \
      powers off or reboots, or on Ctrl-C (QEMU then closes the log cleanly). Give the kernel \
      console=ttyS0 in --append to see its messages.
      """)

  @Option(name: .long, help: ArgumentHelp("The kernel image (a bzImage).", valueName: "bzImage"))
  var kernel: String?

  @Option(name: .long, help: ArgumentHelp("The initramfs.", valueName: "file"))
  var initrd: String?

  @Option(name: .long, help: ArgumentHelp("A disk image (any format qemu-img reads); the trace keeps a copy-on-write overlay over it, and disk I/O goes through QEMU's blkreplay.", valueName: "image"))
  var disk: String?

  @Option(name: .long, help: ArgumentHelp("The kernel command line (default: '\(MachineConfiguration.defaultAppend)').", valueName: "args"))
  var append: String?

  @Option(name: .long, help: ArgumentHelp("Guest memory (default 512M).", valueName: "size"))
  var mem = "512M"

  @Option(name: .shortAndLong, help: ArgumentHelp("The trace directory to create (default: vm-<n> in the trace directory).", valueName: "trace"))
  var output: String?

  @Flag(name: .long, help: "Give the guest QEMU's user-mode network (a virtio NIC, 10.0.2.0/24, gateway 10.0.2.2); received packets are recorded through filter-replay.")
  var net = false

  @Option(name: .long, help: ArgumentHelp("Kernel symbols to keep in the trace for `vm replay` (a vmlinux, a System.map or the guest's /proc/kallsyms).", valueName: "file"))
  var symbols: String?

  @Flag(name: .shortAndLong, help: "Do not echo the guest's serial output.")
  var quiet = false

  func validate() throws {
    if kernel == nil { throw ValidationError("Give the kernel to boot with --kernel bzImage (scripts/example-guest.sh OUTDIR builds one).") }
  }

  func run() throws {
    do {
      let memoryMiB = try MachineConfiguration.parseMemory(mem)
      let qemu = try QEMUInstallation.locate()
      let request0 = VMRecorder.Request(
        kernel: kernel!, initrd: initrd, disk: disk, append: append ?? MachineConfiguration.defaultAppend, memoryMiB: memoryMiB,
        output: "", command: CommandLine.arguments, rewindVersion: Rewind.version, echoSerial: !quiet, symbols: symbols)
      try VMRecorder.checkInputs(request0)
      var request = request0
      request.network = net
      if let output {
        request.output = output
      } else {
        request.output = try TraceLocation.makeNewTraceDirectory(root: TraceLocation.defaultRoot(), executableName: "vm")
      }
      let trace = try VMRecorder(qemu: qemu).record(request)
      let summary = trace.summary!
      FileHandle.standardError.write(
        Data(
          ("rewind: recorded \(trace.directory): \(summary.guestInstructions) guest instructions, \(summary.events) events, "
            + String(format: "%.1f s", summary.recordSeconds) + "; ended by \(summary.shutdown.first ?? "?")\n"
            + "rewind: replay it with `rewind vm replay -a \(trace.directory)`, debug it with `rewind vm replay \(trace.directory)`\n").utf8))
    } catch let error as ExitCode {
      throw error
    } catch {
      throw VMExit.fail(error)
    }
  }
}

struct VMReplay: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "replay",
    abstract: "Replay a VM trace under gdb (forwards and backwards), or to its end with -a.",
    discussion: """
      Under gdb, QEMU's own gdb stub serves the replay: stepi, continue, reverse-stepi and \
      reverse-continue work on the kernel. QEMU goes backwards by replaying from the nearest \
      snapshot before the place wanted: with --checkpoint-every N, rewind first replays the \
      whole trace once, saving a snapshot every N guest instructions, so reverse steps stay \
      short. Arguments after -- go to gdb. With -a: no debugger; the serial output again, with \
      progress, then a check that it matched the recording (exit status 3 when it did not).
      """)

  @Flag(name: .customShort("a"), help: "Replay to the end without a debugger and check the serial output against the recording.")
  var autopilot = false

  @Argument(help: "The VM trace (a name in the trace directory or a path; default: the newest VM trace).")
  var trace: String?

  @Option(name: .long, help: ArgumentHelp("Kernel symbols for gdb: a vmlinux, or a System.map (or the guest's /proc/kallsyms); default: those kept by `vm record --symbols`.", valueName: "file"))
  var symbols: String?

  @Option(name: .long, help: ArgumentHelp("Under gdb, a snapshot every N guest instructions (100M, 5000000) so reverse steps stay under a second.", valueName: "N"))
  var checkpointEvery: String?

  @Option(name: .long, help: ArgumentHelp("Check: the guest memory the trace was recorded with (a replay always uses the recorded one).", valueName: "size"))
  var mem: String?

  @Option(name: .long, help: ArgumentHelp("Check: the kernel command line the trace was recorded with.", valueName: "args"))
  var append: String?

  @Flag(name: .shortAndLong, help: "With -a: do not echo the guest's serial output.")
  var quiet = false

  @Argument(parsing: .postTerminator, help: "Arguments for gdb, after --.")
  var gdbArguments: [String] = []

  func validate() throws {
    if autopilot && (symbols != nil || checkpointEvery != nil || !gdbArguments.isEmpty) {
      throw ValidationError("-a replays without a debugger; --symbols, --checkpoint-every and gdb arguments are for debugging.")
    }
  }

  func run() throws {
    do {
      let qemu = try QEMUInstallation.locate()
      let trace = try VMExit.resolve(self.trace)
      var overrides: MachineConfiguration?
      if mem != nil || append != nil {
        var wanted = trace.header.configuration
        if let mem { wanted.memoryMiB = try MachineConfiguration.parseMemory(mem) }
        if let append { wanted.append = append }
        overrides = wanted
      }
      let checkpointSpacing = try checkpointEvery.map { try VMExit.parseCount($0, option: "--checkpoint-every") }
      if checkpointSpacing == 0 { throw VMError(.usage, "--checkpoint-every 0: give a positive number of instructions, such as 100M") }
      let replayer = try VMReplayer(trace: trace, qemu: qemu, overrides: overrides)
      defer { replayer.stop() }
      if autopilot {
        let outcome = try replayer.replayToEnd(echoSerial: !quiet)
        let total = replayer.log.statistics.guestInstructions
        if outcome.matched {
          FileHandle.standardError.write(
            Data("rewind: replay matched the recording: \(total) guest instructions, serial output identical (\(String(format: "%.1f", outcome.seconds)) s)\n".utf8))
          return
        }
        FileHandle.standardError.write(
          Data(("rewind: the replay did NOT match the recording:\n" + outcome.problems.map { "  - \($0)\n" }.joined()).utf8))
        throw ExitCode(ExitCodes.divergence)
      }
      try debug(replayer, checkpointSpacing: checkpointSpacing)
    } catch let error as ExitCode {
      throw error
    } catch {
      throw VMExit.fail(error)
    }
  }

  private func debug(_ replayer: VMReplayer, checkpointSpacing: UInt64?) throws {
    // --symbols, else the symbols kept in the trace by `vm record --symbols`.
    let symbolSource = symbols ?? replayer.trace.symbolsPath
    let symbolFile = try symbolSource.map { try KernelSymbols.gdbFile(for: $0, workDirectory: replayer.workDirectory) }
    try replayer.start(stopped: true, gdb: true)
    if let checkpointSpacing {
      let started = Date()
      let count = try replayer.takeCheckpoints(every: checkpointSpacing) { line in
        FileHandle.standardError.write(Data("rewind: \(line)\n".utf8))
      }
      FileHandle.standardError.write(
        Data("rewind: \(count) checkpoints in \(String(format: "%.1f", Date().timeIntervalSince(started))) s; back at the start\n".utf8))
    }
    guard let qemuPort = replayer.gdbPort, let qemuProcess = replayer.process, let monitor = replayer.monitor else {
      throw VMError(.failed, "QEMU is not running")
    }
    // gdb talks to QEMU's stub through the proxy, which keeps reverse steps short.
    let proxy = try ReverseStepProxy(
      qemuPort: qemuPort, monitor: monitor, process: qemuProcess, snapshots: replayer.snapshotInstructions,
      endInstruction: replayer.log.statistics.firstShutdownInstruction.map { $0 > 0 ? $0 - 1 : 0 })
    proxy.start()
    var arguments = ["gdb", "-q"]
    if let symbolFile { arguments += ["-ex", "file \(symbolFile)"] }
    arguments += ["-ex", "target remote 127.0.0.1:\(proxy.port)"] + gdbArguments
    var cStrings = arguments.map { strdup($0) }
    cStrings.append(nil)
    defer { for pointer in cStrings { free(pointer) } }
    rewind_ignore_interrupts()
    let gdb = rewind_spawn_in_foreground(cStrings)
    if gdb < 0 { throw VMError(.missingTool, "cannot start gdb: \(String(cString: strerror(errno))) (install it: apt-get install gdb)") }
    var status: Int32 = 0
    while waitpid(gdb, &status, 0) == -1 && errno == EINTR {}
    rewind_take_terminal_back()
    if rewind_wifexited(status) != 0 && rewind_wexitstatus(status) == 127 {
      throw VMError(.missingTool, "gdb could not be started (is it installed? apt-get install gdb)")
    }
    if !qemuProcess.isRunning && qemuProcess.exitCode != 0 {
      throw VMError(.failed, "QEMU \(qemuProcess.endDescription) during the session: \(qemuProcess.lastMessages(3))")
    }
  }
}

struct VMStats: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "stats",
    abstract: "Summarize a VM trace: guest instructions and QEMU's replay log events by kind.",
    discussion: "Reads QEMU's replay log itself (format of QEMU 7.2, log version 0xe0200c); a log of another version is refused.")

  @Argument(help: "The VM trace (default: the newest VM trace).")
  var trace: String?

  @Flag(name: .long, help: "Print JSON instead of a table.")
  var json = false

  func run() throws {
    do {
      let trace = try VMExit.resolve(self.trace)
      let log = try ReplayLog(path: trace.replayLogPath)
      let s = log.statistics
      let replay = FileManager.default.contents(atPath: trace.directory + "/replay-stats.json").flatMap { data -> ReplayStatistics? in
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try? decoder.decode(ReplayStatistics.self, from: data)
      }
      if json {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        var object = try JSONSerialization.jsonObject(with: encoder.encode(s)) as! [String: Any]
        object["recordSeconds"] = trace.summary?.recordSeconds
        object["replaySeconds"] = replay?.replaySeconds
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        print(String(decoding: data, as: UTF8.self))
        return
      }
      let c = trace.header.configuration
      print("trace              \(trace.directory)")
      print("machine            \(c.machine), \(c.cpu), \(c.cpus) vCPU, \(c.memoryMiB)M; \(trace.header.qemuVersion)")
      print("replay log         \(s.bytes) bytes, version 0x\(String(s.version, radix: 16))\(s.complete ? "" : " (no end event: cut short)")")
      print("guest instructions \(s.guestInstructions)")
      print("events             \(s.events)")
      let rows: [(String, String)] = [
        ("interrupts", "\(s.interrupts)"),
        ("exceptions", "\(s.exceptions)"),
        ("clock reads", "\(s.hostClockReads + s.virtualRealTimeClockReads) (host \(s.hostClockReads), virtual real-time \(s.virtualRealTimeClockReads))"),
        ("I/O input", "\(s.characterReads + s.characterReadAlls + s.inputEvents + s.inputSyncs) (character reads \(s.characterReads + s.characterReadAlls), \(s.characterReadBytes) bytes; keyboard/mouse \(s.inputEvents + s.inputSyncs))"),
        ("random", "\(s.randomReads) (\(s.randomBytes) bytes)"),
        ("disk", "\(s.blockRequests) completions"),
        ("network", "\(s.networkPackets) packets (\(s.networkBytes) bytes)"),
        ("serial writes", "\(s.serialWrites) (\(s.serialBytes) bytes)"),
        ("timers (bottom halves)", "\(s.bottomHalves + s.oneShotBottomHalves)"),
        ("audio", "\(s.audioOut + s.audioIn)"),
        ("checkpoints", "\(s.checkpoints.values.reduce(0, +)) (" + s.checkpoints.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ") + ")"),
        ("instruction runs", "\(s.instructionEvents)"),
        ("shutdown", s.shutdowns.isEmpty ? "none" : s.shutdowns.joined(separator: ", ")),
      ]
      print("by kind:")
      for (name, value) in rows { print("  \(name.padding(toLength: 22, withPad: " ", startingAt: 0)) \(value)") }
      if let summary = trace.summary { print(String(format: "record time        %.2f s", summary.recordSeconds)) }
      if let replay { print(String(format: "replay time        %.2f s (last `rewind vm replay -a`)", replay.replaySeconds)) } else { print("replay time        not measured yet (`rewind vm replay -a` measures it)") }
    } catch let error as ExitCode {
      throw error
    } catch {
      throw VMExit.fail(error)
    }
  }
}

struct VMLogInstructions: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "log-instructions",
    abstract: "Write every guest instruction between two instruction counts, with its registers.",
    discussion: "One line an instruction: the instruction count before it, rip, its first 16 bytes, and the general registers and eflags before it. Single-steps QEMU's gdb stub, ~1 ms an instruction.")

  @Argument(help: "The VM trace.")
  var trace: String?

  @Option(name: .long, help: ArgumentHelp("The first instruction count (see `rewind vm stats`).", valueName: "N1"))
  var from: String

  @Option(name: .long, help: ArgumentHelp("The instruction count to stop at.", valueName: "N2"))
  var to: String

  @Option(name: .shortAndLong, help: ArgumentHelp("The file to write (default: stdout).", valueName: "file"))
  var output: String?

  func run() throws {
    do {
      let first = try VMExit.parseCount(from, option: "--from")
      let last = try VMExit.parseCount(to, option: "--to")
      guard first < last else { throw VMError(.usage, "--from \(from) must be below --to \(to)") }
      guard last - first <= 10_000_000 else { throw VMError(.usage, "--from \(from) --to \(to) is more than 10M instructions; log a shorter range") }
      let qemu = try QEMUInstallation.locate()
      let trace = try VMExit.resolve(self.trace)
      let replayer = try VMReplayer(trace: trace, qemu: qemu)
      defer { replayer.stop() }
      let total = replayer.log.statistics.guestInstructions
      guard last <= total else { throw VMError(.usage, "--to \(to) is past the end of the trace (\(total) guest instructions)") }
      let handle: FileHandle
      if let output {
        guard FileManager.default.createFile(atPath: output, contents: nil), let opened = FileHandle(forWritingAtPath: output) else {
          throw VMError(.usage, "-o \(output): cannot create it (\(String(cString: strerror(errno))))")
        }
        handle = opened
      } else {
        handle = FileHandle.standardOutput
      }
      let lines = try replayer.logInstructions(from: first, to: last, output: handle) { count in
        if isatty(2) != 0 { FileHandle.standardError.write(Data("\r\u{1b}[Krewind: at instruction \(count) of \(last)".utf8)) }
      }
      FileHandle.standardError.write(Data("\(isatty(2) != 0 ? "\r\u{1b}[K" : "")rewind: logged \(lines) instructions (\(first) to \(last))\(output.map { " to \($0)" } ?? "")\n".utf8))
    } catch let error as ExitCode {
      throw error
    } catch {
      throw VMExit.fail(error)
    }
  }
}
