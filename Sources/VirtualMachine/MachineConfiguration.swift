import Foundation

/// Everything that makes two QEMU runs the same machine. It is saved in the trace (vm.json)
/// and a replay must match it exactly: QEMU itself replays a log on a different machine
/// without complaint and then hangs or diverges (a different `-m` hangs silently), so rewind
/// compares first.
public struct MachineConfiguration: Codable, Equatable, Sendable {
  /// The disk given with --disk: the trace holds a copy-on-write overlay over it.
  public struct Disk: Codable, Equatable, Sendable {
    /// The image the overlay is over (absolute), nil once `rewind pack` made the overlay
    /// self-contained.
    public var backingFile: String?
    public var backingFormat: String?
    /// Size and modification time of the backing file when recorded: a backing image that
    /// changed since makes the overlay meaningless.
    public var backingSize: UInt64?
    public var backingModified: Double?
    /// Guest-visible size in bytes.
    public var virtualSize: UInt64
  }

  public var machine: String
  public var cpu: String
  public var cpus: Int
  public var memoryMiB: Int
  public var append: String
  /// XXH3-128 of the kernel and initrd files as recorded.
  public var kernelHash: String
  public var initrdHash: String?
  public var disk: Disk?
  /// "user" for QEMU's user-mode network (a virtio NIC whose received packets go through
  /// filter-replay), nil for none.
  public var network: String?
  /// The NIC's `-device` settings after `netdev=`. QEMU 7.2's virtio-net sends from a bottom
  /// half the main loop runs whenever the host gets to it, outside the replay log (QEMU made
  /// it a logged event only in 9.1): the guest then sees its send complete at another
  /// instruction in replay, and replay stalls, waiting for an event it has gone past.
  /// `tx=timer` sends from a virtual-clock timer instead, which the log orders;
  /// `guest_announce=off` removes the announce timer, which QEMU's replay maintainers found
  /// breaks snapshot loads. Nil in traces recorded before this was set: they replay with the
  /// NIC they were recorded with.
  public var networkDevice: String?
  public var icountShift: String
  /// `-global` settings; `apic-common.vapic=off` always (without it QEMU 7.2 deadlocks on
  /// the first snapshot load in replay, as in QEMU's issue 2634).
  public var globals: [String]

  public static let defaultAppend = "console=ttyS0 nokaslr panic=-1"
  public static let requiredGlobals = ["apic-common.vapic=off"]

  /// What traces without `networkDevice` were recorded with.
  public static let firstNetworkDeviceSettings = "mac=52:54:00:12:34:56"
  public static let networkDeviceSettings = "tx=timer,guest_announce=off," + firstNetworkDeviceSettings

  public init(memoryMiB: Int, append: String, kernelHash: String, initrdHash: String?, disk: Disk?, network: String? = nil) {
    self.network = network
    networkDevice = network == nil ? nil : Self.networkDeviceSettings
    machine = "pc"
    cpu = "qemu64"
    cpus = 1
    self.memoryMiB = memoryMiB
    self.append = append
    self.kernelHash = kernelHash
    self.initrdHash = initrdHash
    self.disk = disk
    icountShift = "auto"
    globals = Self.requiredGlobals
  }

  /// The settings that differ, worded "name: recorded X, now Y".
  public func differences(from other: MachineConfiguration) -> [String] {
    var result: [String] = []
    func compare<T: Equatable>(_ name: String, _ recorded: T, _ now: T, _ show: (T) -> String) {
      if recorded != now { result.append("\(name): recorded \(show(recorded)), now \(show(now))") }
    }
    compare("machine", machine, other.machine) { $0 }
    compare("cpu", cpu, other.cpu) { $0 }
    compare("cpus", cpus, other.cpus) { "\($0)" }
    compare("memory", memoryMiB, other.memoryMiB) { "\($0)M" }
    compare("kernel command line", append, other.append) { "'\($0)'" }
    compare("kernel", kernelHash, other.kernelHash) { "content \($0.prefix(12))" }
    compare("initrd", initrdHash, other.initrdHash) { $0.map { "content \($0.prefix(12))" } ?? "none" }
    compare("disk", disk?.virtualSize, other.disk?.virtualSize) { $0.map { "\($0) bytes" } ?? "none" }
    compare("network", network, other.network) { $0 ?? "none" }
    compare("network device", networkDevice, other.networkDevice) { $0 ?? "none" }
    compare("icount shift", icountShift, other.icountShift) { $0 }
    compare("-global settings", globals, other.globals) { $0.joined(separator: ",") }
    return result
  }

  /// "512M", "1G", "1.5G", "2048" (MiB, as QEMU reads a bare number) → MiB.
  public static func parseMemory(_ text: String) throws -> Int {
    let trimmed = text.trimmingCharacters(in: .whitespaces)
    guard let last = trimmed.last else { throw VMError(.usage, "--mem is empty; give a size such as 512M or 1G") }
    let multiplier: Double
    var number = trimmed
    switch last {
    case "M", "m": multiplier = 1; number.removeLast()
    case "G", "g": multiplier = 1024; number.removeLast()
    case "0"..."9": multiplier = 1
    default: throw VMError(.usage, "--mem \(text): give a size in MiB or GiB, such as 512M or 1G")
    }
    guard let value = Double(number), value > 0, (value * multiplier).rounded() == value * multiplier else {
      throw VMError(.usage, "--mem \(text): give a whole number of MiB, such as 512M or 1G")
    }
    let mib = Int(value * multiplier)
    guard mib >= 32 else { throw VMError(.usage, "--mem \(text): a Linux guest needs at least 32M (the default is 512M)") }
    guard mib <= 65536 else { throw VMError(.usage, "--mem \(text): at most 64G") }
    return mib
  }
}
