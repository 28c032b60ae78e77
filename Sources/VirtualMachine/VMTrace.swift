import CXXHash
import Foundation

/// A whole-machine trace directory: everything a replay needs, so it does not depend on the
/// files the recording was made from.
///
/// | file | holds |
/// | --- | --- |
/// | `vm.json` | `kind` "rewind-vm", `formatVersion`, rewind's and QEMU's versions, the replay log version, the start time, the command, the full machine configuration |
/// | `kernel`, `initrd` | copies of the guest kernel and initramfs |
/// | `symbols` | a copy of the vmlinux or System.map given with `vm record --symbols` (for gdb) |
/// | `disk.qcow2` | a copy-on-write overlay over the disk given with --disk (its `init` snapshot is the disk at the start) |
/// | `snapshots.qcow2` | QEMU's `init` snapshot of the machine when recording began |
/// | `replay.log` | QEMU's record/replay log (`rewind vm stats` reads it) |
/// | `serial.txt` | what the guest wrote on its serial port |
/// | `qemu.log` | QEMU's own messages while recording |
/// | `summary.json` | written when recording ended normally: guest instructions, events, seconds, how it ended |
public struct VMTrace: Sendable {
  public static let headerName = "vm.json"
  public static let kindName = "rewind-vm"
  public static let formatVersion = 1

  public struct Header: Codable, Sendable {
    public var kind: String
    public var formatVersion: Int
    public var rewindVersion: String
    public var qemuVersion: String
    public var replayLogVersion: UInt32
    public var startTime: Date
    public var hostname: String
    public var command: [String]
    public var configuration: MachineConfiguration
  }

  public struct Summary: Codable, Sendable {
    public var guestInstructions: UInt64
    public var events: Int
    public var recordSeconds: Double
    /// QEMU's shutdown causes in the log ("guest-shutdown" for a poweroff).
    public var shutdown: [String]
    public var serialBytes: UInt64
  }

  public let directory: String
  public let header: Header
  public let summary: Summary?

  public var kernelPath: String { directory + "/kernel" }
  public var initrdPath: String? { header.configuration.initrdHash == nil ? nil : directory + "/initrd" }
  public var diskPath: String? { header.configuration.disk == nil ? nil : directory + "/disk.qcow2" }
  public var snapshotsPath: String { directory + "/snapshots.qcow2" }
  /// Kernel symbols kept by `vm record --symbols`, if any.
  public var symbolsPath: String? { access(directory + "/symbols", R_OK) == 0 ? directory + "/symbols" : nil }
  public var replayLogPath: String { directory + "/replay.log" }
  public var serialPath: String { directory + "/serial.txt" }

  /// Whether `directory` holds a VM trace header (cheap: for `rewind ls` and `rm`).
  public static func isVMTrace(_ directory: String) -> Bool {
    guard let data = FileManager.default.contents(atPath: directory + "/" + headerName),
      let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
    else { return false }
    return object["kind"] as? String == kindName
  }

  /// Opens a trace directory and checks that it is a complete VM trace.
  public init(directory: String) throws {
    self.directory = directory
    let headerPath = directory + "/" + Self.headerName
    guard let data = FileManager.default.contents(atPath: headerPath) else {
      if FileManager.default.fileExists(atPath: directory + "/header.json") {
        throw VMError(.badTrace, "'\(directory)' is a trace of a program, not of a virtual machine: replay it with `rewind replay \(directory)`")
      }
      throw VMError(.badTrace, "'\(directory)' is not a VM trace (it has no \(Self.headerName)); record one with `rewind vm record`")
    }
    let decoder = JSONDecoder()
    decoder.dateDecodingStrategy = .iso8601
    do { header = try decoder.decode(Header.self, from: data) } catch {
      throw VMError(.badTrace, "'\(headerPath)' is damaged (\(error)); record again")
    }
    guard header.kind == Self.kindName else {
      throw VMError(.badTrace, "'\(headerPath)' is not a VM trace header (kind '\(header.kind)')")
    }
    guard header.formatVersion == Self.formatVersion else {
      throw VMError(.badTrace, "'\(directory)' is VM trace format \(header.formatVersion); this rewind reads format \(Self.formatVersion)")
    }
    summary = (FileManager.default.contents(atPath: directory + "/summary.json")).flatMap { try? decoder.decode(Summary.self, from: $0) }
  }

  /// The files a replay needs, or a message naming the first one missing.
  public func checkFiles() throws {
    var needed = [kernelPath, snapshotsPath, replayLogPath, serialPath]
    if let initrdPath { needed.append(initrdPath) }
    if let diskPath { needed.append(diskPath) }
    for path in needed where access(path, R_OK) != 0 {
      throw VMError(.badTrace, "'\(directory)' lacks \((path as NSString).lastPathComponent), which a replay needs; record again")
    }
    if summary == nil {
      throw VMError(.badTrace, "'\(directory)' has no summary.json: its recording did not end normally (QEMU or rewind was killed); record again")
    }
  }

  static func writeJSON<T: Encodable>(_ value: T, to path: String) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    encoder.dateEncodingStrategy = .iso8601
    let data = try encoder.encode(value)
    let temporary = path + ".tmp"
    guard FileManager.default.createFile(atPath: temporary, contents: data + Data("\n".utf8)) else {
      throw VMError(.failed, "cannot write '\(path)': \(String(cString: strerror(errno)))")
    }
    guard rename(temporary, path) == 0 else { throw VMError(.failed, "cannot write '\(path)': \(String(cString: strerror(errno)))") }
  }
}

/// XXH3-128 of a file's bytes, as 32 hex digits.
public func fileHash(_ path: String) throws -> String {
  guard let handle = FileHandle(forReadingAtPath: path) else {
    throw VMError(.usage, "cannot read '\(path)': \(String(cString: strerror(errno)))")
  }
  defer { try? handle.close() }
  guard let state = XXH3_createState() else { fatalError("XXH3_createState: out of memory") }
  defer { XXH3_freeState(state) }
  XXH3_128bits_reset(state)
  while true {
    let chunk = handle.readData(ofLength: 1 << 20)
    if chunk.isEmpty { break }
    chunk.withUnsafeBytes { _ = XXH3_128bits_update(state, $0.baseAddress, $0.count) }
  }
  let digest = XXH3_128bits_digest(state)
  func hex(_ value: UInt64) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: 16 - digits.count) + digits
  }
  return hex(digest.high64) + hex(digest.low64)
}
