import Foundation

/// header.json: what a reader must know before it trusts the streams, and what a person wants
/// to know about a recording (`rewind ps`, bug reports).
///
/// Replay compares `cpuModel` and `syscallTableHash` with its own machine and build, and warns
/// when they differ (Replayer's `TraceCompatibility`): a different CPU may answer CPUID
/// differently (which rewind cannot trap here), and a different syscall table may replay the
/// recorded calls differently.
public struct TraceHeader: Codable, Equatable, Sendable {
  /// Bump when the byte layout of a stream or of this header changes (see `TraceWriter`).
  public static let currentFormatVersion = 5
  /// The oldest version this rewind reads: version 2 only added the memory of code points,
  /// version 3 the memory their registers point to (`ReachedMemory`), version 4 the patched
  /// vDSO in exec events, version 5 reached-memory chunks of up to 128 bytes, which an older
  /// rewind would take for a damaged record; all are absent from older traces.
  public static let oldestReadableFormatVersion = 1

  public var formatVersion: Int
  /// The version of the rewind that recorded the trace.
  public var rewindVersion: String
  /// "model name" from /proc/cpuinfo, or "unknown".
  public var cpuModel: String
  /// The content hash of the syscall table the recorder used.
  public var syscallTableHash: String
  /// The command line that was recorded, program first.
  public var command: [String]
  public var cwd: String
  /// When recording started, to the millisecond.
  public var startTime: Date
  public var hostname: String
  /// `uname -r`.
  public var kernelRelease: String
  /// The signals the program started with ignored (bit N-1 for signal N), inherited from
  /// whoever ran rewind: replay starts the program with the same. Absent in older traces.
  public var ignoredSignals: UInt64?

  /// A header for a recording starting now on this machine.
  public init(command: [String], cwd: String, syscallTableHash: String, rewindVersion: String) {
    let host = HostInfo.current()
    self.init(
      formatVersion: Self.currentFormatVersion, rewindVersion: rewindVersion,
      cpuModel: host.cpuModel, syscallTableHash: syscallTableHash, command: command, cwd: cwd,
      startTime: TraceJSON.roundedToMilliseconds(Date()), hostname: host.hostname,
      kernelRelease: host.kernelRelease)
  }

  /// Every field given, for tests and tools that rewrite headers.
  public init(
    formatVersion: Int, rewindVersion: String, cpuModel: String, syscallTableHash: String,
    command: [String], cwd: String, startTime: Date, hostname: String, kernelRelease: String
  ) {
    self.formatVersion = formatVersion
    self.rewindVersion = rewindVersion
    self.cpuModel = cpuModel
    self.syscallTableHash = syscallTableHash
    self.command = command
    self.cwd = cwd
    self.startTime = startTime
    self.hostname = hostname
    self.kernelRelease = kernelRelease
  }
}
