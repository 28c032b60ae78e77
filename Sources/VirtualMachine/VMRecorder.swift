import CVMSupport
import Foundation

/// `rewind vm record`: builds the trace directory, runs QEMU in record mode to the guest's
/// poweroff (or rewind's Ctrl-C/SIGTERM, which QEMU turns into a clean end of the log), and
/// writes the summary.
public struct VMRecorder {
  public struct Request: Sendable {
    public var kernel: String
    public var initrd: String?
    public var disk: String?
    public var append: String
    public var memoryMiB: Int
    /// The trace directory to create (it must not exist, or be empty).
    public var output: String
    public var command: [String]
    public var rewindVersion: String
    /// Echo the guest's serial output on stdout while recording.
    public var echoSerial: Bool
    /// Kernel symbols (vmlinux or System.map) to keep in the trace for replays under gdb.
    public var symbols: String?
    /// QEMU's user-mode network for the guest.
    public var network = false

    public init(kernel: String, initrd: String?, disk: String?, append: String, memoryMiB: Int, output: String, command: [String], rewindVersion: String, echoSerial: Bool, symbols: String? = nil) {
      self.symbols = symbols
      self.kernel = kernel
      self.initrd = initrd
      self.disk = disk
      self.append = append
      self.memoryMiB = memoryMiB
      self.output = output
      self.command = command
      self.rewindVersion = rewindVersion
      self.echoSerial = echoSerial
    }
  }

  public let qemu: QEMUInstallation

  public init(qemu: QEMUInstallation) { self.qemu = qemu }

  /// Checks the inputs before anything is created: each message names the file and the fix.
  public static func checkInputs(_ request: Request) throws {
    func checkReadable(_ path: String, _ option: String) throws {
      var isDirectory: ObjCBool = false
      guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
        throw VMError(.usage, "\(option) \(path): no such file (scripts/example-guest.sh OUTDIR builds a kernel and an initramfs to try)")
      }
      guard !isDirectory.boolValue, access(path, R_OK) == 0 else {
        throw VMError(.usage, "\(option) \(path): not a readable file")
      }
    }
    try checkReadable(request.kernel, "--kernel")
    if let initrd = request.initrd { try checkReadable(initrd, "--initrd") }
    if let disk = request.disk { try checkReadable(disk, "--disk") }
    if let symbols = request.symbols { try checkReadable(symbols, "--symbols") }
    // A bzImage has "HdrS" at 0x202 (the x86 boot protocol); an ELF vmlinux is not bootable this way.
    if let handle = FileHandle(forReadingAtPath: request.kernel) {
      defer { try? handle.close() }
      let head = handle.readData(ofLength: 0x206)
      if head.count == 0x206, String(decoding: head[0x202..<0x206], as: UTF8.self) != "HdrS" {
        let isELF = head.prefix(4) == Data([0x7f, 0x45, 0x4c, 0x46])
        throw VMError(
          .usage,
          "--kernel \(request.kernel) is not a bootable x86 kernel image (bzImage)"
            + (isELF ? ": it is an ELF file (a vmlinux?); give the bzImage (arch/x86/boot/bzImage, or /boot/vmlinuz-*) and use the vmlinux with `rewind vm replay --symbols`" : ""))
      }
    }
  }

  /// Records; returns the trace. The trace directory is removed again when QEMU could not
  /// record at all.
  public func record(_ request: Request) throws -> VMTrace {
    try Self.checkInputs(request)
    let directory = request.output
    if FileManager.default.fileExists(atPath: directory) {
      let contents = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? ["?"]
      guard contents.isEmpty else {
        throw VMError(.usage, "-o \(directory) already exists and is not empty; name a new directory (or `rewind rm` the old trace)")
      }
    } else {
      do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
        throw VMError(.usage, "cannot create -o \(directory): \(error.localizedDescription)")
      }
    }
    var keep = false
    defer { if !keep { try? FileManager.default.removeItem(atPath: directory) } }

    // Copies of the kernel and initramfs: the trace must not depend on files that may change.
    try copyFile(request.kernel, to: directory + "/kernel")
    if let initrd = request.initrd { try copyFile(initrd, to: directory + "/initrd") }
    if let symbols = request.symbols { try copyFile(symbols, to: directory + "/symbols") }
    let kernelHash = try fileHash(directory + "/kernel")
    let initrdHash = try request.initrd.map { _ in try fileHash(directory + "/initrd") }

    var disk: MachineConfiguration.Disk?
    if let diskPath = request.disk {
      disk = try makeOverlay(of: diskPath, at: directory + "/disk.qcow2")
    }
    try runTool([qemu.image, "create", "-q", "-f", "qcow2", directory + "/snapshots.qcow2", "64M"], what: "create the snapshot image")

    let configuration = MachineConfiguration(
      memoryMiB: request.memoryMiB, append: request.append, kernelHash: kernelHash, initrdHash: initrdHash, disk: disk,
      network: request.network ? "user" : nil)
    let header = VMTrace.Header(
      kind: VMTrace.kindName, formatVersion: VMTrace.formatVersion, rewindVersion: request.rewindVersion,
      qemuVersion: qemu.version, replayLogVersion: ReplayLog.knownVersion, startTime: Date(),
      hostname: ProcessInfo.processInfo.hostName, command: request.command, configuration: configuration)
    try VMTrace.writeJSON(header, to: directory + "/" + VMTrace.headerName)

    let socketDirectory = try makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: socketDirectory) }
    let files = QEMUCommandLine.Files(
      kernel: directory + "/kernel", initrd: request.initrd == nil ? nil : directory + "/initrd",
      disk: disk == nil ? nil : directory + "/disk.qcow2", snapshots: directory + "/snapshots.qcow2",
      replayLog: directory + "/replay.log", serial: directory + "/serial.txt", qmpSocket: socketDirectory + "/qmp")
    let commandLine = QEMUCommandLine(configuration: configuration, mode: .record, files: files)

    rewind_vm_catch_signals()
    let started = Date()
    // In rewind's process group: the terminal's Ctrl-C reaches QEMU, which ends the log cleanly.
    let process = try QEMUProcess(program: qemu.system, arguments: commandLine.arguments, logPath: directory + "/qemu.log", ownGroup: false)
    defer { process.stop() }
    let echo = SerialEcho(path: files.serial, output: request.echoSerial ? FileHandle.standardOutput : nil)
    var forwarded: Int32 = 0
    _ = process.waitForExit(pollEvery: 0.1) {
      echo.pump()
      let pending = rewind_vm_pending_signal()
      // SIGTERM/SIGHUP are not sent to QEMU by the terminal: pass them on once.
      if pending != 0 && pending != SIGINT && forwarded == 0 {
        forwarded = pending
        kill(process.pid, SIGTERM)
      }
      return true
    }
    echo.pump()
    let seconds = Date().timeIntervalSince(started)
    guard process.exitCode == 0 else {
      throw VMError(.failed, "QEMU \(process.endDescription) while recording:\n\(process.lastMessages())")
    }
    let log: ReplayLog
    do { log = try ReplayLog(path: files.replayLog!) } catch let error as VMError {
      throw VMError(.failed, "QEMU ended but left no usable replay log: \(error.message)\n\(process.lastMessages())")
    }
    let serialBytes = (try? FileManager.default.attributesOfItem(atPath: files.serial)[.size] as? UInt64) ?? 0
    let summary = VMTrace.Summary(
      guestInstructions: log.statistics.guestInstructions, events: log.statistics.events, recordSeconds: seconds,
      shutdown: log.statistics.shutdowns, serialBytes: serialBytes)
    try VMTrace.writeJSON(summary, to: directory + "/summary.json")
    keep = true
    return try VMTrace(directory: directory)
  }

  private func makeOverlay(of path: String, at overlay: String) throws -> MachineConfiguration.Disk {
    let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
    let info = try runTool([qemu.image, "info", "--output=json", absolute], what: "read the disk image \(path)")
    guard let object = try? JSONSerialization.jsonObject(with: Data(info.utf8)) as? [String: Any],
      let format = object["format"] as? String, let size = (object["virtual-size"] as? NSNumber)?.uint64Value
    else {
      throw VMError(.usage, "--disk \(path): qemu-img cannot tell its format and size")
    }
    try runTool([qemu.image, "create", "-q", "-f", "qcow2", "-b", absolute, "-F", format, overlay], what: "create an overlay over \(path)")
    let attributes = try FileManager.default.attributesOfItem(atPath: absolute)
    return MachineConfiguration.Disk(
      backingFile: absolute, backingFormat: format, backingSize: (attributes[.size] as? NSNumber)?.uint64Value,
      backingModified: (attributes[.modificationDate] as? Date)?.timeIntervalSince1970, virtualSize: size)
  }
}

/// Copies a file (a reflink or plain copy).
func copyFile(_ source: String, to destination: String) throws {
  try? FileManager.default.removeItem(atPath: destination)
  do { try FileManager.default.copyItem(atPath: source, toPath: destination) } catch {
    throw VMError(.failed, "cannot copy '\(source)' to '\(destination)': \(error.localizedDescription)")
  }
}

/// Runs a helper tool (qemu-img, as, ld) that must succeed; returns its output.
@discardableResult
func runTool(_ arguments: [String], what: String) throws -> String {
  let result = try runCapturing(arguments)
  guard result.status == 0 else {
    throw VMError(.failed, "cannot \(what): \((arguments[0] as NSString).lastPathComponent) failed: \(result.text.trimmingCharacters(in: .whitespacesAndNewlines))")
  }
  return result.text
}

/// A fresh private directory under $TMPDIR (short paths: QMP's Unix socket lives there).
func makeTemporaryDirectory() throws -> String {
  let base = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
  var template = Array((base + "/rewind-vm-XXXXXX").utf8CString)
  guard let result = mkdtemp(&template) else {
    throw VMError(.failed, "cannot create a temporary directory in \(base): \(String(cString: strerror(errno)))")
  }
  return String(cString: result)
}
