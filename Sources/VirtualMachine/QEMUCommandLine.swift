import Foundation

/// Builds the QEMU command lines of VM mode, so that the recording run and every replay run
/// describe the same machine: one vCPU (QEMU refuses `-smp 2` with record/replay), TCG (KVM
/// cannot be combined with icount), `-global apic-common.vapic=off` in both runs, the serial
/// port into a file, no reboot (a reboot ends the run), and QMP on a Unix socket.
public struct QEMUCommandLine: Sendable {
  public enum Mode: Sendable {
    /// An ordinary TCG run (no icount): what the guest costs without recording.
    case plain
    /// `-icount shift=auto,rr=record`: writes the replay log and the `init` snapshot.
    case record
    /// `-icount shift=auto,rr=replay`: reads the log, starting from the `init` snapshot.
    case replay
  }

  /// The files of one run.
  public struct Files: Sendable {
    public var kernel: String
    public var initrd: String?
    /// The disk image the guest sees (the trace's overlay, or a working copy of it).
    public var disk: String?
    /// The qcow2 image holding the `init` snapshot and the replay's checkpoints.
    public var snapshots: String?
    public var replayLog: String?
    public var serial: String
    public var qmpSocket: String
    public init(kernel: String, initrd: String?, disk: String?, snapshots: String?, replayLog: String?, serial: String, qmpSocket: String) {
      self.kernel = kernel
      self.initrd = initrd
      self.disk = disk
      self.snapshots = snapshots
      self.replayLog = replayLog
      self.serial = serial
      self.qmpSocket = qmpSocket
    }
  }

  /// The name of the snapshot QEMU takes when recording starts and loads when replay starts.
  public static let initialSnapshot = "init"
  public static let snapshotDriveID = "rewind-snapshots"

  public var configuration: MachineConfiguration
  public var mode: Mode
  public var files: Files
  /// Serve gdb's remote protocol on this TCP port of 127.0.0.1.
  public var gdbPort: Int?
  /// Start with the CPU stopped (`-S`): for gdb, and for checkpoints taken before it attaches.
  public var startStopped = false

  public init(configuration: MachineConfiguration, mode: Mode, files: Files) {
    self.configuration = configuration
    self.mode = mode
    self.files = files
  }

  /// The arguments after the program name.
  public var arguments: [String] {
    var a = [
      "-nodefaults", "-no-user-config", "-display", "none",
      "-machine", "\(configuration.machine),accel=tcg",
      "-cpu", configuration.cpu,
      "-smp", "\(configuration.cpus)",
      "-m", "\(configuration.memoryMiB)M",
    ]
    for global in configuration.globals { a += ["-global", global] }
    a += ["-kernel", files.kernel]
    if let initrd = files.initrd { a += ["-initrd", initrd] }
    a += ["-append", configuration.append]
    a += ["-serial", "file:" + files.serial, "-no-reboot"]
    switch mode {
    case .plain:
      break
    case .record, .replay:
      guard let log = files.replayLog, let snapshots = files.snapshots else { break }
      let rr = mode == .record ? "record" : "replay"
      a += ["-icount", "shift=\(configuration.icountShift),rr=\(rr),rrfile=\(Self.escapeOption(log)),rrsnapshot=\(Self.initialSnapshot)"]
      // First, so QEMU keeps the machine state of each snapshot in this image.
      a += ["-drive", "file=\(Self.escapeOption(snapshots)),if=none,id=\(Self.snapshotDriveID),format=qcow2"]
    }
    if let disk = files.disk {
      if mode == .plain {
        a += ["-drive", "file=\(Self.escapeOption(disk)),if=none,id=rewind-disk,format=qcow2,snapshot=on", "-device", "virtio-blk-pci,drive=rewind-disk"]
      } else {
        // Disk reads and writes go through blkreplay so they complete at the recorded places.
        a += [
          "-drive", "file=\(Self.escapeOption(disk)),if=none,id=rewind-disk-direct,format=qcow2",
          "-drive", "driver=blkreplay,if=none,image=rewind-disk-direct,id=rewind-disk",
          "-device", "virtio-blk-pci,drive=rewind-disk",
        ]
      }
    }
    if configuration.network == "user" {
      let settings = configuration.networkDevice ?? MachineConfiguration.firstNetworkDeviceSettings
      a += ["-netdev", "user,id=rewind-net", "-device", "virtio-net-pci,netdev=rewind-net,\(settings)"]
      // Packets the guest receives are recorded, and replayed from the log.
      if mode != .plain { a += ["-object", "filter-replay,id=rewind-net-replay,netdev=rewind-net"] }
    }
    a += ["-qmp", "unix:\(Self.escapeOption(files.qmpSocket)),server=on,wait=off"]
    if let gdbPort { a += ["-gdb", "tcp:127.0.0.1:\(gdbPort)"] }
    if startStopped { a.append("-S") }
    return a
  }

  /// QEMU option values separate settings with commas; a comma in a path is written twice.
  static func escapeOption(_ value: String) -> String {
    value.replacingOccurrences(of: ",", with: ",,")
  }
}
