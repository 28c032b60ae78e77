import CVMSupport
import Foundation

/// Replays a VM trace with QEMU: checks first that this QEMU and this configuration are the
/// recorded ones, then runs QEMU in replay mode on working copies of the trace's images (the
/// trace itself is never written: QEMU writes snapshots into the image it replays from).
public final class VMReplayer {
  public let trace: VMTrace
  public let qemu: QEMUInstallation
  public let log: ReplayLog
  /// Where the working copies, the QMP socket and the replay's serial output live.
  public let workDirectory: String
  public private(set) var process: QEMUProcess?
  public private(set) var monitor: QMPClient?
  public private(set) var gdbPort: Int?

  public var serialPath: String { workDirectory + "/serial.txt" }

  /// Opens the trace for replay. `overrides` are settings the user gave again (--mem,
  /// --append): each must equal the recorded one.
  public init(trace: VMTrace, qemu: QEMUInstallation, overrides: MachineConfiguration? = nil) throws {
    try trace.checkFiles()
    guard qemu.version == trace.header.qemuVersion else {
      throw VMError(
        .badTrace,
        "'\(trace.directory)' was recorded with \(trace.header.qemuVersion), and this is \(qemu.version); QEMU replays only its own logs faithfully. Replay it with the recorded QEMU version, or record again")
    }
    if let overrides {
      let differences = trace.header.configuration.differences(from: overrides)
      if !differences.isEmpty {
        throw VMError(
          .usage,
          "this replay would run a different machine than the recorded one (\(differences.joined(separator: "; "))); QEMU would hang or diverge. Leave these options out: the trace holds the recorded settings")
      }
    }
    let configuration = trace.header.configuration
    guard try fileHash(trace.kernelPath) == configuration.kernelHash else {
      throw VMError(.badTrace, "the kernel in '\(trace.directory)' is not the recorded one (its content changed); record again")
    }
    if let initrd = trace.initrdPath, try fileHash(initrd) != configuration.initrdHash {
      throw VMError(.badTrace, "the initrd in '\(trace.directory)' is not the recorded one (its content changed); record again")
    }
    try trace.checkDiskBacking()
    self.trace = trace
    self.qemu = qemu
    log = try ReplayLog(path: trace.replayLogPath)
    workDirectory = try makeTemporaryDirectory()
  }

  deinit {
    stop()
    try? FileManager.default.removeItem(atPath: workDirectory)
  }

  /// Ends QEMU (if it runs) and closes the monitor.
  public func stop() {
    monitor = nil
    process?.stop()
  }

  /// Starts QEMU in replay mode, stopped before the first instruction when `stopped`, with
  /// gdb's stub on a free port when `gdb`, and connects to its monitor.
  public func start(stopped: Bool, gdb: Bool) throws {
    try copyFile(trace.snapshotsPath, to: workDirectory + "/snapshots.qcow2")
    var disk: String?
    if let traceDisk = trace.diskPath {
      disk = workDirectory + "/disk.qcow2"
      try copyFile(traceDisk, to: disk!)
      // The copy's backing file is the trace's (relative names resolve from the trace).
      if let resolved = trace.diskBackingPath, let format = trace.header.configuration.disk?.backingFormat {
        try runTool([qemu.image, "rebase", "-u", "-b", resolved, "-F", format, disk!], what: "point the disk copy at its backing image")
      }
    }
    let files = QEMUCommandLine.Files(
      kernel: trace.kernelPath, initrd: trace.initrdPath, disk: disk, snapshots: workDirectory + "/snapshots.qcow2",
      replayLog: trace.replayLogPath, serial: serialPath, qmpSocket: workDirectory + "/qmp")
    var commandLine = QEMUCommandLine(configuration: trace.header.configuration, mode: .replay, files: files)
    commandLine.startStopped = stopped
    if gdb {
      gdbPort = try freeTCPPort()
      commandLine.gdbPort = gdbPort
    }
    let process = try QEMUProcess(program: qemu.system, arguments: commandLine.arguments, logPath: workDirectory + "/qemu.log", ownGroup: true)
    self.process = process
    do {
      let monitor = try QMPClient(socketPath: files.qmpSocket, timeout: 30) { process.isRunning }
      // Answered by QEMU's main loop: the machine, the snapshot load and the gdb stub are ready.
      _ = try monitor.status()
      self.monitor = monitor
    } catch let error as VMError {
      process.stop()
      throw VMError(.failed, "QEMU did not start replaying: \(error.message)\n\(process.lastMessages())")
    }
  }

  /// The outcome of replaying to the end without a debugger.
  public struct Outcome: Sendable {
    public var matched: Bool
    /// Why it did not match, one reason a line.
    public var problems: [String]
    public var seconds: Double
    public var instructionsReplayed: UInt64
  }

  /// `rewind vm replay -a`: replays to the end, echoing the serial output and showing
  /// progress, then compares the serial output with the recording's.
  public func replayToEnd(echoSerial: Bool, stallSeconds: Double = 120) throws -> Outcome {
    try start(stopped: true, gdb: false)
    guard let process, let monitor else { throw VMError(.failed, "QEMU is not running") }
    rewind_vm_catch_signals()
    let started = Date()
    try monitor.execute("cont")
    let echo = SerialEcho(path: serialPath, output: echoSerial ? FileHandle.standardOutput : nil)
    let progress = ProgressLine()
    let total = log.statistics.guestInstructions
    var instructions: UInt64 = 0
    var lastChange = Date()
    var problems: [String] = []
    var pausedAt: String?
    while process.isRunning {
      echo.pump()
      if rewind_vm_pending_signal() != 0 {
        progress.finish()
        process.stop()
        throw VMError(.failed, "replay interrupted at instruction \(instructions) of \(total)")
      }
      guard let current = try? monitor.instructionCount(), let status = try? monitor.status() else { break }
      if current != instructions {
        instructions = current
        lastChange = Date()
      }
      let events = log.eventsReplayed(atInstruction: instructions)
      let percent = total == 0 ? 100 : Double(instructions) * 100 / Double(total)
      progress.update(String(format: "replayed %d of %d events, %llu of %llu instructions (%.1f%%)", events, log.statistics.events, instructions, total, percent))
      // QEMU pauses when the log ends before the guest does (or reports an internal error).
      if status == "paused" || status == "internal-error" || status == "guest-panicked" {
        pausedAt = status
        break
      }
      if Date().timeIntervalSince(lastChange) > stallSeconds {
        problems.append("the replay stopped advancing at instruction \(instructions) of \(total) for \(Int(stallSeconds)) s (QEMU waits for an event the log does not hold)")
        break
      }
      usleep(200_000)
    }
    if process.isRunning {
      process.stop()
    }
    echo.pump()
    progress.finish()
    let seconds = Date().timeIntervalSince(started)
    if let pausedAt {
      problems.append("QEMU stopped the replay (\(pausedAt)) at instruction \(instructions) of \(total): the log ended before the guest did")
    } else if let code = process.exitCode, code != 0 {
      problems.append("QEMU \(process.endDescription) while replaying: \(process.lastMessages(3))")
    } else if process.exitCode == nil && problems.isEmpty {
      problems.append("QEMU \(process.endDescription) while replaying")
    }
    let recorded = FileManager.default.contents(atPath: trace.serialPath) ?? Data()
    let replayed = FileManager.default.contents(atPath: serialPath) ?? Data()
    if recorded != replayed {
      let common = zip(recorded, replayed).prefix { $0 == $1 }.count
      let line = recorded.prefix(common).filter { $0 == UInt8(ascii: "\n") }.count + 1
      problems.append("the serial output differs from the recording's from byte \(common) (line \(line)): recorded \(recorded.count) bytes, replayed \(replayed.count)")
    }
    let outcome = Outcome(matched: problems.isEmpty, problems: problems, seconds: seconds, instructionsReplayed: instructions)
    if outcome.matched {
      try? VMTrace.writeJSON(ReplayStatistics(replaySeconds: seconds, replayedAt: Date()), to: trace.directory + "/replay-stats.json")
    }
    return outcome
  }

  /// Takes a snapshot every `every` guest instructions through the monitor (replay-break,
  /// cont, savevm), then goes back to the start (loadvm init): QEMU's reverse steps replay
  /// from the nearest snapshot before the target, so they stay short. Returns how many.
  /// The instruction counts of the snapshots in the working image (`init` at 0, then the
  /// checkpoints taken).
  public private(set) var snapshotInstructions: [UInt64] = [0]

  public func takeCheckpoints(every: UInt64, progress: (String) -> Void) throws -> Int {
    guard let monitor, let process else { throw VMError(.failed, "QEMU is not running") }
    let total = log.statistics.guestInstructions
    var taken = 0
    var target = every
    while target < total {
      try monitor.execute("replay-break", ["icount": target])
      try monitor.execute("cont")
      var reached = false
      while !reached {
        guard process.isRunning else { throw VMError(.failed, "QEMU \(process.endDescription) while taking checkpoints: \(process.lastMessages(3))") }
        if try monitor.waitForEvent(["STOP"], timeout: 1) != nil { reached = true }
      }
      let at = try monitor.instructionCount()
      guard at == target else {
        throw VMError(.failed, "the replay stopped at instruction \(at), not at the checkpoint's \(target)")
      }
      let answer = try monitor.humanMonitor("savevm rewind-\(target)")
      if !answer.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
        throw VMError(.failed, "QEMU could not save a checkpoint at instruction \(target): \(answer)")
      }
      taken += 1
      snapshotInstructions.append(target)
      progress("checkpoint \(taken) at instruction \(target) of \(total)")
      target += every
    }
    _ = try? monitor.execute("replay-delete-break")
    let answer = try monitor.humanMonitor("loadvm \(QEMUCommandLine.initialSnapshot)")
    if !answer.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
      throw VMError(.failed, "QEMU could not go back to the start of the replay: \(answer)")
    }
    return taken
  }

  /// Runs the replay to `instruction` (stopped there), for log-instructions.
  public func run(toInstruction instruction: UInt64) throws {
    guard let monitor, let process else { throw VMError(.failed, "QEMU is not running") }
    if instruction == 0 { return }
    try monitor.execute("replay-break", ["icount": instruction])
    try monitor.execute("cont")
    while try monitor.waitForEvent(["STOP"], timeout: 1) == nil {
      guard process.isRunning else { throw VMError(.failed, "QEMU \(process.endDescription) before instruction \(instruction): \(process.lastMessages(3))") }
    }
    _ = try? monitor.execute("replay-delete-break")
  }
}

/// What the last `rewind vm replay -a` measured (replay-stats.json, read by `rewind vm stats`).
public struct ReplayStatistics: Codable, Sendable {
  public var replaySeconds: Double
  public var replayedAt: Date
}

/// A TCP port of 127.0.0.1 that was free a moment ago (bound to port 0, then released).
func freeTCPPort() throws -> Int {
  let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
  guard fd >= 0 else { throw VMError(.failed, "socket: \(String(cString: strerror(errno)))") }
  defer { close(fd) }
  var address = sockaddr_in()
  address.sin_family = sa_family_t(AF_INET)
  address.sin_addr.s_addr = inet_addr("127.0.0.1")
  address.sin_port = 0
  var length = socklen_t(MemoryLayout<sockaddr_in>.size)
  let bound = withUnsafeMutablePointer(to: &address) {
    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Bool in
      bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
    }
  }
  guard bound else { throw VMError(.failed, "cannot find a free TCP port: \(String(cString: strerror(errno)))") }
  return Int(UInt16(bigEndian: address.sin_port))
}
